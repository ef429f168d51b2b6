"""The speech engine with the real espeak-ng: right clip for each phrase, trimmed, cached, failing
in one clear line."""

from __future__ import annotations

import itertools
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from coach.cache import read_clip
from coach.script.routine import RATE_RANGE
from coach.sound.espeak import (
    AMPLITUDE,
    INSTALL,
    SILENCE,
    Speech,
    espeak_available,
    list_voices,
    speed,
)
from coach.sound.speech import DEFAULT_RATE, Estimate, SpeechError
from coach.timeline import SAMPLE_RATE

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (make setup)")

VERBS = ["Glide", "Press", "Knead", "Slide", "Circle", "Sweep", "Rest", "Lean", "Hold", "Shift"]
HANDS = ["your palms", "both thumbs", "the heel of your hand", "your fingertips", "your forearm"]
WHERE = ["up beside the spine", "over the shoulder blades", "toward the neck, slowly",
         "on the out-breath", "along the ribs; gently", "across the upper back"]  # fmt: skip
PHRASES = [f"{v} {h} {w}." for v, h, w in itertools.product(VERBS, HANDS, WHERE)]  # 300
SOFT_ONSETS = ["Feel the warmth.", "Hush now.", "Sink in.", "Fan out.", "Thumbs in.", "Very good."]


@pytest.fixture
def speech(tmp_path):
    return Speech(cache_dir=tmp_path)


def espeak_raw(text: str, voice: str = "en-us") -> np.ndarray:
    """An independent single espeak-ng run of `text` (as an argument, not on stdin), untrimmed,
    at the -s the default rate is heard at."""
    command = ["espeak-ng", "--stdout", "-v", voice, "-s", str(speed(DEFAULT_RATE))]
    command += ["-a", str(AMPLITUDE)]
    out = subprocess.run([*command, "--", text], capture_output=True, check=True).stdout
    data = out[out.index(b"data") + 8 :]
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")


def trimmed(x: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x.astype(np.int32)) > SILENCE)
    return x[loud[0] : loud[-1] + 1]


@pytest.mark.slow
def test_every_clip_holds_its_own_phrase_over_300_parallel_syntheses(speech):
    lengths = speech.lengths(PHRASES)
    assert speech.synthesized == len(PHRASES) == 300
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        references = list(pool.map(lambda t: trimmed(espeak_raw(t)), PHRASES))
    clips = [speech.clip(t) for t in PHRASES]
    for text, clip, ref in zip(PHRASES, clips, references, strict=True):
        assert clip.dtype == np.int16
        assert np.array_equal(clip, ref), text
        assert lengths[text] == len(clip)
    assert len({c.tobytes() for c in clips}) == len(PHRASES)


def test_clips_start_and_end_with_sound_and_keep_soft_onsets(speech):
    for text in SOFT_ONSETS + PHRASES[:5]:
        raw = espeak_raw(text)
        clip = speech.clip(text)
        assert abs(int(clip[0])) > SILENCE and abs(int(clip[-1])) > SILENCE
        nonzero = np.flatnonzero(raw)
        # espeak pads with exact zeros: ~16 ms before the phrase, ~0.5 s after it
        assert nonzero[0] >= 300 or text.startswith(("E", "A", "O")), text
        assert len(raw) - 1 - nonzero[-1] > 0.3 * SAMPLE_RATE
        # trimming removes that padding but at most a fraction of a millisecond of sound
        assert len(clip) >= nonzero[-1] - nonzero[0] + 1 - 0.002 * SAMPLE_RATE, text


def test_second_run_synthesizes_nothing(tmp_path):
    first = Speech(cache_dir=tmp_path)
    lengths = first.lengths(PHRASES[:20])
    files = {p: p.stat().st_mtime_ns for p in (tmp_path / "speech").glob("*.clip")}
    assert len(files) == 20

    second = Speech(cache_dir=tmp_path)
    assert second.lengths(PHRASES[:20]) == lengths
    assert [len(second.clip(t)) for t in PHRASES[:20]] == [lengths[t] for t in PHRASES[:20]]
    assert second.synthesized == 0
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "speech").glob("*.clip")} == files


def test_cache_honours_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    speech = Speech()
    speech.lengths(["Breathe out."])
    assert speech.cache_path("Breathe out.").is_relative_to(tmp_path / "coach")
    assert speech.cache_path("Breathe out.").exists()


def test_cache_key_changes_with_voice_rate_and_text(tmp_path):
    base = Speech(cache_dir=tmp_path)
    paths = {
        base.cache_path("Rest."),
        base.cache_path("Rest!"),
        Speech(voice="en-gb-x-rp", cache_dir=tmp_path).cache_path("Rest."),
        Speech(rate=100, cache_dir=tmp_path).cache_path("Rest."),
    }
    assert len(paths) == 4
    slow = Speech(rate=100, cache_dir=tmp_path).lengths(["Slide up slowly."])
    fast = base.lengths(["Slide up slowly."])
    assert slow["Slide up slowly."] > fast["Slide up slowly."] * 1.1


def test_damaged_or_half_written_cache_files_are_not_used(speech):
    text, other = "Lean into the stroke.", "Knees soft."
    good = speech.clip(text)
    path = speech.cache_path(text)
    # A writer killed mid-write leaves only a temp file, which is never taken for a clip.
    (path.parent / f".tmp-abc{path.suffix}").write_bytes(b"\x01")
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2 // 2 * 2])  # cut to half, still whole samples
    assert speech.lengths([text]) == {text: len(good)}
    speech.cache_path(other).write_bytes(b"")
    assert np.array_equal(speech.clip(other), trimmed(espeak_raw(other)))
    assert speech.synthesized == 3
    assert path.read_bytes() == whole
    # A clip changed in place, at its full length, is found out by its checksum.
    path.write_bytes(whole[:-2] + bytes(2))
    assert read_clip(path) is None
    assert np.array_equal(speech.clip(text), good) and speech.synthesized == 4


def test_parallel_runs_sharing_a_cache_see_only_whole_clips(tmp_path):
    texts = PHRASES[100:124]
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: Speech(cache_dir=tmp_path).lengths(texts), range(3)))
    assert results[0] == results[1] == results[2]
    speech = Speech(cache_dir=tmp_path)
    assert all(np.array_equal(speech.clip(t), trimmed(espeak_raw(t))) for t in texts[:5])
    assert speech.synthesized == 0
    assert not list((tmp_path / "speech").glob(".tmp-*"))


def test_german_routine_gets_a_german_voice(tmp_path):
    german = Speech(language="de", cache_dir=tmp_path)
    english = Speech(cache_dir=tmp_path)
    assert english.voice == "en-us"
    assert german.voice == "de"
    assert any(v.name == german.voice and v.language == "de" for v in list_voices("de"))
    text = "Atme ruhig aus."
    assert not np.array_equal(german.clip(text), english.clip(text))
    assert np.array_equal(german.clip(text), trimmed(espeak_raw(text, voice="de")))


def test_voices_are_listed_by_language_and_are_usable():
    english = list_voices("en")
    assert "en-us" in {v.name for v in english}
    assert all(v.language == "en" or v.language.startswith("en-") for v in english)
    german = list_voices("de")
    assert {v.language for v in german} == {"de"}
    assert len(list_voices()) > len(english) + len(german)
    assert list_voices("xx") == []
    for v in english:  # every listed name works with espeak-ng -v
        assert len(espeak_raw("Hello.", voice=v.name)) > 1000, v.name


def test_a_voice_can_be_named_by_espeak_id_title_or_language_code(tmp_path):
    assert Speech(voice="gmw/en-us", cache_dir=tmp_path).voice == "en-us"
    assert Speech(voice="English (America)", cache_dir=tmp_path).voice == "en-us"
    assert Speech(voice="en-gb", cache_dir=tmp_path).voice == "en"  # espeak-ng's British voice
    assert Speech(voice="EN-US", cache_dir=tmp_path).voice == "en-us"


def test_every_listed_voice_works_by_the_name_it_shows(tmp_path):
    for v in list_voices():
        assert Speech(voice=v.name, cache_dir=tmp_path).voice == v.name
        assert Speech(voice=v.language, cache_dir=tmp_path).voice  # and its language code


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message
    return message


@pytest.mark.parametrize(
    "kwargs",
    [{"voice": "nosuchvoice"}, {"language": "xx"}, {"rate": 20}, {"rate": 900}],
    ids=["voice", "language", "slow", "fast"],
)
def test_bad_voice_language_or_rate_is_one_line(tmp_path, kwargs):
    with pytest.raises(SpeechError) as e:
        Speech(cache_dir=tmp_path, **kwargs)
    message = one_line(e)
    assert e.value.need == "voice" or "words a minute" in message
    assert "--" not in message and "`" not in message  # the command line words the hint


def test_missing_espeak_is_one_line_and_the_estimate_still_works(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without espeak-ng
    assert not espeak_available()
    with pytest.raises(SpeechError) as e:
        Speech(cache_dir=tmp_path)
    assert one_line(e) == INSTALL and e.value.need == "install"
    assert Estimate().lengths(["Breathe out."])["Breathe out."] > 0


def test_a_hanging_synthesis_fails_naming_the_phrase(tmp_path):
    speech = Speech(cache_dir=tmp_path, timeout=0.0001)
    with pytest.raises(SpeechError) as e:
        speech.lengths(["Press on the out-breath."])
    assert "Press on the out-breath." in one_line(e)
    with pytest.raises(SpeechError) as e:  # the parallel path fails the same way
        speech.lengths(PHRASES[:8])
    assert "espeak-ng took over" in one_line(e)


@pytest.mark.parametrize("text", ["...", ""])
def test_a_phrase_without_sound_fails_naming_it(speech, text):
    # espeak-ng exits 0 here: for "" it writes nothing at all, for "..." only silence
    with pytest.raises(SpeechError) as e:
        speech.lengths([text])
    assert repr(text) in one_line(e)


def test_estimate_grows_with_words_and_pauses_and_slows_with_rate():
    est = Estimate()
    lengths = est.lengths(["Rest.", "Rest your hands.", "Rest, your hands."])
    assert lengths["Rest."] < lengths["Rest your hands."] < lengths["Rest, your hands."]
    assert Estimate(DEFAULT_RATE // 2).lengths(["Rest your hands."])[
        "Rest your hands."
    ] == pytest.approx(2 * lengths["Rest your hands."], abs=1)
    assert est.voice == "estimate" and est.rate == DEFAULT_RATE
    with pytest.raises(SpeechError):
        Estimate(0)


def test_estimate_is_close_to_real_speech_on_average(speech):
    real = speech.lengths(PHRASES[:30])
    guess = Estimate().lengths(PHRASES[:30])
    ratios = [guess[t] / real[t] for t in PHRASES[:30]]
    assert 0.8 < sum(ratios) / len(ratios) < 1.25
    assert all(0.6 < r < 1.7 for r in ratios)


@pytest.mark.parametrize("rate", [RATE_RANGE[0] - 1, RATE_RANGE[1] + 1, 450])
def test_espeak_takes_the_routine_rate_range_and_no_other(tmp_path, rate):
    low, high = RATE_RANGE
    assert Speech(rate=low, cache_dir=tmp_path).rate == low
    assert Speech(rate=high, cache_dir=tmp_path).rate == high
    with pytest.raises(SpeechError, match=f"rate {rate} is out of range: use {low} to {high} "):
        Speech(rate=rate, cache_dir=tmp_path)
