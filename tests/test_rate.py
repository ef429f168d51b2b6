"""The rate means words a minute as heard: words over the trimmed clips' own length, for
espeak-ng and the Piper voice alike, on typical coach sentences (each engine's clips are kept
in the suite's caches, so a second run synthesizes nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.script.routine import RATE_RANGE
from coach.sound import espeak, piper
from coach.sound.espeak import Speech
from coach.sound.piper import PiperSpeech, bundled_voice
from coach.sound.speech import DEFAULT_RATE, Estimate, SpeechError, heard_rate

# A mix like the built-in routines' own lines: the heard rate depends on it (at one setting
# espeak-ng said "Contact." at 65 words a minute and "Move to a new spot." at 156), so
# there are short reminders, a title, halfway, questions and instructions with pauses. Their
# heard rate was within 1 % of all 213 phrases of the built-in routines' at 100, 120 and 160.
SENTENCES = [
    "Slowly.",
    "Stay still.",
    "Next: Effleurage with oil.",
    "Halfway. 5 minutes to go.",
    "Work beside the spine, never on it.",
    "Light to medium, 3 to 5 out of 10.",
    "Any recent injury, broken bone, or osteoporosis?",
    "Ask your partner: more pressure, less, or just right?",
    "Glide up beside the spine and down the sides.",
    "Let your hands grow warm and heavy.",
    "Keep one hand on the back while you reach for the oil.",
    "Slow down as you press deeper.",
]
RATES = [100, 120, 160]

needs_piper = pytest.mark.skipif(
    bool(piper.available()) or bundled_voice() is None, reason="needs piper-tts (make setup)"
)


def assert_heard_at(speech, rate: int) -> None:
    heard = heard_rate(speech.lengths(SENTENCES))
    assert heard == pytest.approx(rate, rel=0.10), f"{speech.engine} at {rate}: {heard:.1f}"


@pytest.mark.parametrize("rate", RATES)
def test_espeak_is_heard_at_the_rate_asked(rate):
    assert_heard_at(Speech(rate=rate), rate)


@needs_piper
@pytest.mark.parametrize("rate", RATES)
def test_piper_is_heard_at_the_rate_asked(rate, piper_cache):
    assert_heard_at(PiperSpeech(bundled_voice(), rate, Path(piper_cache)), rate)


@pytest.mark.parametrize("rate", RATES)
def test_the_estimate_is_heard_at_the_rate_asked(rate):
    assert_heard_at(Estimate(rate), rate)


def test_the_default_rate_is_a_calm_guided_audio_rate():
    assert 100 <= DEFAULT_RATE <= 130  # guided audio's range
    assert Speech().rate == DEFAULT_RATE == Estimate().rate


def test_a_new_calibration_does_not_reuse_the_old_clips(tmp_path, monkeypatch):
    """The cache key holds what the engine is told (espeak-ng's -s, Piper's length_scale),
    so clips made under another calibration are not taken for this one's."""
    text = SENTENCES[-1]
    before = Speech(rate=120, cache_dir=tmp_path)
    length = before.lengths([text])[text]
    monkeypatch.setattr(espeak, "SPEED", (espeak.SPEED[0] * 1.2, espeak.SPEED[1]))
    after = Speech(rate=120, cache_dir=tmp_path)
    assert after.cache_path(text) != before.cache_path(text)
    assert after.lengths([text])[text] < 0.9 * length  # made anew, faster
    assert after.synthesized == 1


@needs_piper
@pytest.mark.parametrize("rate", [RATE_RANGE[0] - 1, RATE_RANGE[1] + 1])
def test_piper_takes_the_routine_rate_range_and_no_other(rate, tmp_path):
    low, high = RATE_RANGE
    with pytest.raises(SpeechError, match=f"rate {rate} is out of range: use {low} to {high} "):
        PiperSpeech(bundled_voice(), rate, tmp_path)
