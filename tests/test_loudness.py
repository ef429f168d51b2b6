"""Loudness as a listener's meter reads it: every figure checked against ffmpeg's ebur128."""

from __future__ import annotations

import math
import re
import subprocess
import wave

import numpy as np
import pytest

from coach.sound.loudness import LoudnessMeter, integrated_loudness, normalize, true_peak_db
from coach.timeline import SAMPLE_RATE

PHRASES = (
    "Rest both hands on the back and breathe with your partner.",
    "Glide slowly up beside the spine, never on it.",
    "Check in: is the pressure comfortable?",
    "Knead the shoulders, one side at a time.",
    "Halfway.",
    "Lean your body weight into the stroke.",
    "Small circles with your thumbs, beside the spine.",
    "Lighter now.",
    "Press on the out-breath, then release.",
    "Let your hands rest still for a moment.",
)


def espeak(text: str) -> np.ndarray:
    """Real espeak-ng speech as float in [-1, 1] (the --stdout header's length is bogus)."""
    out = subprocess.run(["espeak-ng", "--stdout", text], capture_output=True, check=True).stdout
    data = out.find(b"data") + 8
    pcm = out[data : data + (len(out) - data) // 2 * 2]
    return np.frombuffer(pcm, "<i2").astype(np.float64) / 32768.0


def ffmpeg_ebur128(x: np.ndarray, tmp_path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) of `x` written as a 16-bit WAV, as ffmpeg measures."""
    path = tmp_path / "measure.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(x, -1, 1) * 32767).round().astype("<i2").tobytes())
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path)]
    cmd += ["-af", "ebur128=peak=true", "-f", "null", "-"]
    log = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    summary = log[log.rfind("Summary:") :]
    lufs = float(re.search(r"I:\s+(\S+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(\S+) dBFS", summary).group(1))
    return lufs, peak


def sine(freq: float, secs: float, amplitude: float) -> np.ndarray:
    t = np.arange(round(secs * SAMPLE_RATE)) / SAMPLE_RATE
    return amplitude * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("text", PHRASES[:3])
def test_loudness_of_speech_agrees_with_ffmpeg(text, tmp_path):
    speech = espeak(text)
    ours = integrated_loudness(speech)
    theirs, _ = ffmpeg_ebur128(speech, tmp_path)
    assert ours == pytest.approx(theirs, abs=0.3)


def test_loudness_of_a_sine_agrees_with_ffmpeg_and_the_standard(tmp_path):
    tone = sine(1000, 3.0, 0.5)
    # BS.1770: a full-scale 1 kHz sine reads -3.01 LUFS; half scale is 6.02 dB lower.
    assert integrated_loudness(tone) == pytest.approx(-9.03, abs=0.1)
    assert integrated_loudness(tone) == pytest.approx(ffmpeg_ebur128(tone, tmp_path)[0], abs=0.3)


@pytest.mark.parametrize("freq", [30, 100, 6000])
def test_k_weighting_at_low_and_high_frequencies_agrees_with_ffmpeg(freq, tmp_path):
    # The edges of the K-weighting curve: its high pass cuts 30 Hz by about 9 dB (the part of
    # the filters' response that rings longest), its shelf lifts 6 kHz by about 3.5 dB.
    tone = sine(freq, 2.0, 0.5)
    assert integrated_loudness(tone) == pytest.approx(ffmpeg_ebur128(tone, tmp_path)[0], abs=0.1)


def test_true_peak_agrees_with_ffmpeg(tmp_path):
    speech = espeak(PHRASES[0])
    assert true_peak_db(speech) == pytest.approx(ffmpeg_ebur128(speech, tmp_path)[1], abs=0.2)


def test_a_clip_shorter_than_a_gating_block_reads_as_loud_as_it_sounds():
    # A 60 ms tick is far shorter than BS.1770's 400 ms block: it must not read as silence,
    # and a burst of a tone should read about as loud as the sustained tone.
    assert integrated_loudness(sine(1000, 0.06, 0.5)) == pytest.approx(-9.03, abs=0.5)
    assert integrated_loudness(sine(1000, 0.2, 0.5)) == pytest.approx(-9.03, abs=0.5)


def test_silence_measures_minus_infinity_and_normalizes_to_itself():
    quiet = np.zeros(SAMPLE_RATE)
    assert integrated_loudness(quiet) == -math.inf
    assert true_peak_db(quiet) == -math.inf
    assert not normalize(quiet, -19.0).any()
    assert len(normalize(np.zeros(0), -19.0)) == 0


@pytest.mark.parametrize(("text", "target"), [(PHRASES[0], -19.0), (PHRASES[3], -24.0)])
def test_normalized_speech_meets_target_and_ceiling_in_ffmpeg(text, target, tmp_path):
    speech = espeak(text)
    out = normalize(speech, target)
    assert out.dtype == np.float32
    assert len(out) == len(speech)  # the timeline placed the clip by its length
    lufs, peak = ffmpeg_ebur128(out, tmp_path)
    assert lufs == pytest.approx(target, abs=0.5)
    assert peak <= -1.5 + 0.2


def test_a_loud_target_is_reached_by_limiting_not_clipping(tmp_path):
    # Raw espeak peaks at 0 dBFS: +4 dB of plain gain would clip (pyloudnorm's failure at -16).
    speech = espeak(PHRASES[1])
    out = normalize(speech, -16.0, ceiling_dbtp=-1.0)
    lufs, peak = ffmpeg_ebur128(out, tmp_path)
    assert lufs == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0 + 0.2
    assert np.abs(out).max() < 1.0


def test_a_guide_of_normalized_phrases_measures_the_target_as_a_whole(tmp_path):
    # What the export does: every clip normalized once, placed with silence between.
    gap = np.zeros(SAMPLE_RATE)
    parts = []
    for text in PHRASES:
        parts += [normalize(espeak(text), -19.0), gap]
    guide = np.concatenate(parts)
    lufs, peak = ffmpeg_ebur128(guide, tmp_path)
    assert lufs == pytest.approx(-19.0, abs=1.0)
    assert peak <= -1.0
    # The streaming meter, fed the guide in blocks as the renderer yields it, reads the same.
    meter = LoudnessMeter()
    for at in range(0, len(guide), 2205 + 7):
        meter.add(guide[at : at + 2205 + 7])
    assert meter.integrated() == pytest.approx(lufs, abs=0.3)
    assert meter.integrated() == pytest.approx(integrated_loudness(guide), abs=0.01)
