"""Which engine speaks a voice, by the names `coach voices` shows.

The engines are asked in ENGINES' order; a voice name goes to the first that knows it:
- Piper: a path to a model (`*.onnx`, its `.onnx.json` beside it), the bundled voice
  (`en_US-joe-medium`) or one in the voices folder, by name;
- espeak-ng: a voice by name ("en-us"), id ("gmw/en-us"), title ("English (America)") or
  language code ("en-gb", "de").

With no voice named, `preferred` (the user's own default, when it speaks the routine's
language) is taken, else the first engine that can speak here and has a default for the
routine's language: Piper's bundled voice for English, espeak-ng's voice for any language.
When an engine that would have spoken cannot run here, a note says why; with none at all, one
error says what to install. A voice that does not speak the routine's language gets a note
too. Notes are one line each, for the front end to show.
"""

from __future__ import annotations

from pathlib import Path

from coach.sound.espeak import ESPEAK
from coach.sound.piper import PIPER
from coach.sound.speech import Pronounce, SpeechError, Voice, same_language

ENGINES = (PIPER, ESPEAK)  # asked in this order: the natural voice first


def all_voices(language: str | None = None) -> list[Voice]:
    """Every voice a routine can name, of the engines that can speak here."""
    found = [v for engine in ENGINES if not engine.missing() for v in engine.voices()]
    return [v for v in found if language is None or same_language(v.language, language)]


def can_speak() -> bool:
    """Whether any engine can speak here (else a check estimates speech lengths)."""
    return any(not engine.missing() for engine in ENGINES)


def open_speech(
    voice: str | None,
    rate: int | None = None,
    language: str = "en",
    cache_dir: Path | None = None,
    preferred: str | None = None,
    pronounce: Pronounce | None = None,
) -> tuple[object, list[str]]:
    """The speech engine for `voice` (or the default), and notes for the user. `pronounce`:
    the routine's own words to say by their IPA (coach.lexicon)."""
    notes: list[str] = []
    if voice is None and preferred:
        speech = _named(preferred, rate, language, cache_dir, pronounce)
        if same_language(speech.language, language):
            return speech, notes
    if voice is None:
        return _default(rate, language, cache_dir, notes, pronounce), notes
    speech = _named(voice, rate, language, cache_dir, pronounce)
    if not same_language(speech.language, language):
        notes.append(
            f"voice {speech.voice} speaks {speech.language}, but the routine's language is "
            f"{language}"
        )
    return speech, notes


def _named(
    voice: str, rate: int | None, language: str, cache_dir: Path | None, pronounce: Pronounce | None
):
    """The first engine's speech that knows `voice`. Every engine is asked, even one that
    cannot run here: naming its voice then says what to install."""
    for engine in ENGINES:
        speech = engine.open(voice, rate, language, cache_dir, pronounce)
        if speech is not None:
            return speech
    raise SpeechError(f"unknown voice {voice!r}", need="voice")


def _default(
    rate: int | None,
    language: str,
    cache_dir: Path | None,
    notes: list[str],
    pronounce: Pronounce | None,
):
    unavailable = []  # (engine, why) of those that cannot run here
    for engine in ENGINES:
        if not engine.default_for(language):
            continue
        if why := engine.missing():
            unavailable.append((engine.name, why))
            continue
        speech = engine.open(None, rate, language, cache_dir, pronounce)
        if speech is None:
            continue
        notes += [
            f"the {name} voice is not available ({why}): speaking with {engine.name}"
            for name, why in unavailable
        ]
        return speech
    reasons = "; ".join(why for _, why in unavailable) or "no engine has a voice for it"
    raise SpeechError(f"no voice speaks {language!r} here: {reasons}", need="install")
