"""The pronunciation lexicon: each massage term is synthesized by espeak-ng and by the Piper
voice, and the phonemes each engine was given (espeak-ng's own --ipa reading of the same
input, piper-tts's phonemizer on the same text) are the lexicon's; a routine's `[pronounce]`
is said the same way, and a bad entry is one line with its file and line."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from command import coach
from routines import routine_toml, step_table

from coach.lexicon import ESPEAK, LEXICON, canonical, espeak_phonemes
from coach.session import SessionSpec, build
from coach.sound import piper
from coach.sound.espeak import AMPLITUDE, SILENCE, Speech, espeak_available, parse_wav, speed
from coach.sound.piper import PiperSpeech, bundled_voice
from coach.sound.speech import trim

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (make setup)")
needs_piper = pytest.mark.skipif(
    bool(piper.available()) or bundled_voice() is None, reason="needs piper-tts (make setup)"
)
TERMS = sorted(LEXICON)
# Each term where the routines say it: a title, mid-sentence, before a comma, at the end.
CONTEXTS = ["Next: {}.", "Now {}, slowly.", "{} with oil.", "Slow down for the {}."]


def phrase(term: str) -> str:
    text = CONTEXTS[TERMS.index(term) % len(CONTEXTS)].format(term)
    return text[0].upper() + text[1:]


def espeak_ipa(text: str, voice: str = "en-us") -> str:
    """What espeak-ng says for `text` (its own phoneme input included), as IPA."""
    done = subprocess.run(
        ["espeak-ng", "-q", "--ipa", "-v", voice], input=text, capture_output=True, text=True
    )
    return " ".join(done.stdout.split())


def espeak_clip(text: str, rate: int) -> np.ndarray:
    """An independent espeak-ng run of `text`, trimmed as the coach trims."""
    command = ["espeak-ng", "--stdout", "-v", "en-us", "-s", str(speed(rate))]
    done = subprocess.run(
        [*command, "-a", str(AMPLITUDE)], input=text.encode(), capture_output=True, check=True
    )
    return np.frombuffer(trim(parse_wav(done.stdout), SILENCE), dtype="<i2")


def test_the_engines_own_rules_get_the_terms_wrong():
    """Why the lexicon is there: without it, espeak-ng's rules (Piper's phonemizer is the same)
    say none of the terms as the lexicon does."""
    if not espeak_available():
        pytest.skip("needs espeak-ng")
    for term in TERMS:
        assert canonical(LEXICON[term]) not in espeak_ipa(term), term


@needs_espeak
@pytest.mark.parametrize("term", TERMS)
def test_espeak_says_each_term_as_the_lexicon_does(term):
    speech = Speech()
    text = phrase(term)
    given = speech.spoken(text)
    assert f"[[{espeak_phonemes(LEXICON[term])}]]" in given and term not in given.lower()
    heard = espeak_ipa(given)
    assert canonical(LEXICON[term]) in heard, heard
    clip = speech.clip(text)  # synthesized from those phonemes, not the spelling
    assert np.array_equal(clip, espeak_clip(given, speech.rate))
    assert not np.array_equal(clip, espeak_clip(text, speech.rate))


@needs_piper
@pytest.mark.parametrize("term", TERMS)
def test_piper_says_each_term_as_the_lexicon_does(term, piper_cache):
    from piper import PiperVoice
    from piper.config import PiperConfig

    speech = PiperSpeech(bundled_voice(), cache_dir=Path(piper_cache))
    text = phrase(term)
    config = PiperConfig.from_dict(json.loads(speech.file.config.read_text()))
    voice = PiperVoice(config=config, session=None)  # its phonemizer; no model needed for that

    def phonemes(text: str) -> str:
        return "".join(p for sentence in voice.phonemize(text) for p in sentence)

    given = phonemes(speech.spoken(text))
    assert canonical(LEXICON[term]) in given, given
    assert set(given) <= set(config.phoneme_id_map), "a phoneme the voice would drop"
    # The rest of the phrase, its pauses and spaces included, as Piper says it without (but
    # for the stress of a word beside the term: espeak-ng stresses "down" in "Slow down for
    # the tapotement" less than in "Slow down for the").
    expected = phonemes(text).replace(phonemes(term), canonical(LEXICON[term]))
    unstressed = str.maketrans("", "", "ˈˌ")
    assert given.translate(unstressed) == expected.translate(unstressed), given
    clip = speech.clip(text)
    assert len(clip) > 0.5 * 22050 and np.abs(clip.astype(np.int32)).max() > 1000


@needs_espeak
def test_a_routines_own_pronunciation_is_said_and_its_spelling_shown(tmp_path):
    say = "Shiatsu presses, one breath each."
    path = tmp_path / "own.toml"
    own = '\n[pronounce]\nshiatsu = "ʃiˈɑːtsuː"\n'
    path.write_text(routine_toml(step_table("thumb-press", "upper back", "1m", say=say)) + own)
    session = build(SessionSpec(str(path), voice="en-us", safety=False))
    assert say in [e.text for e in session.timeline.events]  # preview and captions: spelled
    given = session.speech.spoken(say)
    assert given.startswith("[[Si'A:tsu:]] presses")
    assert "ʃiˈɑːtsuː" in espeak_ipa(given)
    assert np.array_equal(session.speech.clip(say), espeak_clip(given, session.speech.rate))


def test_a_changed_pronunciation_is_made_anew(tmp_path):
    text = "Shiatsu now."
    one = Speech(cache_dir=tmp_path, pronounce={"shiatsu": "ʃiˈɑːtsuː"})
    two = Speech(cache_dir=tmp_path, pronounce={"shiatsu": "ˈʃjɑːtsu"})
    plain = Speech(cache_dir=tmp_path)
    assert len({one.cache_path(text), two.cache_path(text), plain.cache_path(text)}) == 3
    assert plain.cache_path("Rest.") == one.cache_path("Rest.")  # other phrases: same clips


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ('shiatsu = "ʃiˈɑːʁsu"', 'shiatsu = "ʃiˈɑːʁsu" has "ʁ", no English sound; write it in IPA'),
        ('shiatsu = "ʃ"', 'shiatsu = "ʃ" has no vowel; write it in IPA'),
        ("shiatsu = 3", "shiatsu must be its IPA in quotes, like effleurage ="),
        ('shiatsu = ""', "shiatsu must be its IPA in quotes"),
        ('"two words" = "tuː"', '"two words" is not one word; give each word'),
    ],
)
def test_a_bad_pronunciation_is_one_line_with_its_file_and_line(tmp_path, entry, says):
    path = tmp_path / "bad.toml"
    own = f'\n[pronounce]\nkneading = "ˈniːdɪŋ"\n{entry}\n'
    path.write_text(routine_toml(step_table("effleurage", "back", "1m")) + own)
    line = path.read_text().splitlines().index(entry) + 1
    result = coach("check", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr + result.stdout
    (problem,) = (result.stdout + result.stderr).strip().splitlines()
    assert problem.startswith(f"{path}:{line}: [pronounce]: {says}")


def test_the_docs_list_every_sound_a_routine_may_use():
    docs = (Path(__file__).parent.parent / "docs" / "routines.md").read_text()
    section = docs.split("## `[pronounce]`", 1)[1].split("\n## ", 1)[0]
    listed = section.split("both voices speak:", 1)[1].split(". Any other", 1)[0]
    listed = set(re.findall(r"[^\s;:,]+", listed)) - {"vowels", "consonants"}
    assert listed == set(ESPEAK) - {"ˈ", "ˌ", "əɹ"}  # stress marks; ə then ɹ (espeak-ng only)
    for example in re.findall(r'^\w+ = "(.+)"$', section, re.M):
        assert canonical(example)  # each example in the docs is taken
