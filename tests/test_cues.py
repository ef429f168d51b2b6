"""Cue sounds as a listener and the timeline need them: soft, exactly placed, cleanly ended."""

from __future__ import annotations

import subprocess
import sys
import wave

import numpy as np
import pytest

from coach.errors import CoachError
from coach.resources import BUILTIN_CUES, cues_dir
from coach.sound.cues import SILENCE, CueError, Cues
from coach.timeline import SAMPLE_RATE

# Seconds each built-in may last (see audio_cues/README.md).
EXPECTED_SECONDS = {
    "chime": (1.0, 1.5),
    "bell": (1.5, 2.5),
    "tick": (0.04, 0.08),
    "gong": (4.0, 6.0),
    "countdown": (0.6, 1.0),
}
MS = SAMPLE_RATE // 1000


def dbfs(x: np.ndarray) -> float:
    peak = np.abs(x.astype(np.float64)).max()
    return 20 * np.log10(peak / 32768) if peak else -np.inf


def test_every_builtin_name_has_a_sound():
    assert set(EXPECTED_SECONDS) == set(BUILTIN_CUES)
    # What a routine may name is exactly what ships in audio_cues/.
    assert {p.stem for p in cues_dir().glob("*.wav")} == set(BUILTIN_CUES)


@pytest.mark.parametrize("name", BUILTIN_CUES)
def test_builtin_file_is_16_bit_mono_at_the_sample_rate(name):
    with wave.open(str(cues_dir() / f"{name}.wav"), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        assert Cues().length(name) == w.getnframes()


@pytest.mark.parametrize("name", BUILTIN_CUES)
def test_builtin_is_placed_exactly_and_ends_cleanly(name):
    cues = Cues()
    sound = cues.clip(name)
    assert sound.dtype == np.int16 and sound.ndim == 1
    assert len(sound) == cues.length(name)
    low, high = EXPECTED_SECONDS[name]
    assert low * SAMPLE_RATE <= len(sound) <= high * SAMPLE_RATE
    # Sound from the first sample: the timeline's start is the onset a listener hears.
    assert abs(int(sound[0])) >= SILENCE
    assert dbfs(sound[:MS]) > -40
    # Ends at exactly zero (no click) right where the decay dies away (no dead tail that
    # would hold off whatever the timeline places after it).
    assert sound[-1] == 0
    assert dbfs(sound[-10 * MS :]) < -50
    assert dbfs(sound[-20 * MS :]) > -70


@pytest.mark.parametrize("name", BUILTIN_CUES)
def test_builtin_is_soft_not_an_alarm(name):
    x = Cues().clip(name) / 32768.0
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    centroid = (freqs * power).sum() / power.sum()
    assert centroid < 1500  # warm, not piercing
    assert power[freqs > 4000].sum() < 0.01 * power.sum()  # no harsh highs
    assert dbfs(Cues().clip(name)) <= -1.0  # headroom: never at full scale


def test_builtin_lengths_need_no_numpy():
    # `coach preview` asks only for lengths and must start fast.
    code = (
        "import sys\nfrom coach.sound.cues import Cues\nfrom coach.resources import BUILTIN_CUES\n"
        "cues = Cues()\nprint([cues.length(n) > 0 for n in BUILTIN_CUES].count(True),"
        " 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(len(BUILTIN_CUES)), "False"]


def test_builtin_at_another_rate_is_resampled():
    assert Cues(rate=44100).length("chime") == pytest.approx(2 * Cues().length("chime"), abs=2)


def make_user_file(path, tone_secs=1.5, lead=0.3, tail=0.5):
    """A stereo 44.1 kHz 440 Hz tone with silence before and after, encoded by ffmpeg."""
    graph = f"sine=f=440:d={tone_secs}:sample_rate=44100,volume=0.5,"
    graph += f"adelay={round(lead * 1000)}:all=1,apad=pad_dur={tail},aformat=channel_layouts=stereo"
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", graph, str(path)]
    subprocess.run(cmd, check=True)


@pytest.mark.parametrize("suffix", [".ogg", ".mp3"])
def test_user_file_decodes_trimmed_to_its_sound(suffix, tmp_path):
    path = tmp_path / f"my-bell{suffix}"
    make_user_file(path)
    cues = Cues()
    sound = cues.clip(str(path))
    assert sound.dtype == np.int16
    # The 1.5 s tone, without the 0.3 s before or the 0.5 s after (codecs smear its edges a
    # few milliseconds).
    assert abs(len(sound) - 1.5 * SAMPLE_RATE) < 0.02 * SAMPLE_RATE
    assert abs(int(sound[0])) >= SILENCE and sound[-1] == 0
    # Mono at SAMPLE_RATE: still a 440 Hz tone.
    spectrum = np.abs(np.fft.rfft(sound.astype(np.float64)))
    peak_hz = np.fft.rfftfreq(len(sound), 1 / SAMPLE_RATE)[spectrum.argmax()]
    assert peak_hz == pytest.approx(440, abs=2)


def test_user_wav_at_48_khz_is_resampled_to_the_sample_rate(tmp_path):
    # A user WAV at another rate and with two channels comes out mono at SAMPLE_RATE.
    path = tmp_path / "bowl.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "sine=f=440:d=2:sample_rate=48000,volume=0.5", "-ac", "2", str(path)],
        check=True,
    )  # fmt: skip
    sound = Cues().clip(str(path))
    assert abs(len(sound) - 2 * SAMPLE_RATE) < 0.01 * SAMPLE_RATE
    spectrum = np.abs(np.fft.rfft(sound.astype(np.float64)))
    peak_hz = np.fft.rfftfreq(len(sound), 1 / SAMPLE_RATE)[spectrum.argmax()]
    assert peak_hz == pytest.approx(440, abs=1)


def test_highs_above_the_new_nyquist_are_filtered_not_folded_back(tmp_path):
    # 15 kHz fits in a 44.1 kHz file but not at 22.05 kHz: a naive resampler folds it to an
    # audible 7.05 kHz whistle; an anti-alias filter removes it.
    path = tmp_path / "bright.wav"
    graph = "aevalsrc=0.4*sin(2*PI*440*t)+0.4*sin(2*PI*15000*t):s=44100:d=1"
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", graph]
    subprocess.run([*cmd, str(path)], check=True)
    sound = Cues().clip(str(path)).astype(np.float64)
    power = np.abs(np.fft.rfft(sound * np.hanning(len(sound)))) ** 2
    freqs = np.fft.rfftfreq(len(sound), 1 / SAMPLE_RATE)
    tone = power[np.abs(freqs - 440) < 20].sum()
    alias = power[np.abs(freqs - (SAMPLE_RATE - 15000)) < 200].sum()
    assert 10 * np.log10(alias / tone) < -50


def test_user_file_is_decoded_once(tmp_path):
    path = tmp_path / "knock.ogg"
    make_user_file(path, tone_secs=0.5, lead=0.1, tail=0.1)
    cues = Cues()
    length = cues.length(str(path))
    path.unlink()  # clip() must come from memory now
    assert len(cues.clip(str(path))) == length


def one_line_error(name: str) -> str:
    with pytest.raises(CueError) as caught:
        Cues().clip(name)
    assert isinstance(caught.value, CoachError)  # the CLI prints it as one line, exit != 0
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_file_that_is_not_audio_is_one_clear_line(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("these are my massage notes, not a sound\n")
    assert str(path) in one_line_error(str(path))


def test_a_missing_file_is_one_clear_line(tmp_path):
    path = tmp_path / "gone.wav"
    message = one_line_error(str(path))
    assert str(path) in message and "not found" in message


def test_a_silent_file_is_one_clear_line(tmp_path):
    path = tmp_path / "hush.ogg"
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i"]
    subprocess.run([*cmd, "anullsrc=r=22050:cl=mono", "-t", "1", str(path)], check=True)
    assert "silent" in one_line_error(str(path))


def test_an_unknown_name_lists_the_builtins():
    message = one_line_error("trumpet")
    assert "trumpet" in message and all(name in message for name in BUILTIN_CUES)
