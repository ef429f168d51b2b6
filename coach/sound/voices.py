"""Which engine speaks a voice, by the names `coach voices` shows.

A voice name is looked up in this order:
- a path to a Piper model (`*.onnx`, with its `.onnx.json` beside it): Piper with that file;
- a Piper voice by name: the bundled one (`en_US-joe-medium`) or one in the voices folder;
- an espeak-ng voice by name ("en-us"), id ("gmw/en-us"), title ("English (America)") or
  language code ("en-gb", "de").

With no voice named, `preferred` (the user's own default, when it speaks the routine's
language) is taken, else the routine's language decides: English gets the bundled Piper voice,
every other language espeak-ng's voice for it. When Piper cannot run here, English falls back
to espeak-ng, and a note says why. A voice that does not speak the routine's language gets a
note too. Notes are one line each, for the front end to show.
"""

from __future__ import annotations

from pathlib import Path

from coach.sound import piper
from coach.sound.speech import Speech, Voice, espeak_available, list_voices, same_language


def piper_voices() -> list[piper.VoiceFile]:
    """The Piper voices known by name: the bundled one, then the voices folder's."""
    bundled = piper.bundled_voice()
    found = [bundled] if bundled else []
    names = {v.name for v in found}
    return found + [v for v in piper.user_voices() if v.name not in names]


def all_voices(language: str | None = None) -> list[Voice]:
    """Every voice a routine can name: Piper's (when it can run here), then espeak-ng's."""
    found = []
    if not piper.available():
        found += [
            Voice(v.name, v.language, title=f"Piper, {v.quality or 'neural'}", engine=piper.ENGINE)
            for v in piper_voices()
        ]
    if espeak_available():
        found += list_voices()
    return [v for v in found if language is None or same_language(v.language, language)]


def _is_file(voice: str) -> bool:
    return voice.strip().lower().endswith(".onnx")


def open_speech(
    voice: str | None,
    rate: int | None = None,
    language: str = "en",
    cache_dir: Path | None = None,
    preferred: str | None = None,
) -> tuple[object, list[str]]:
    """The speech engine for `voice` (or the default), and notes for the user."""
    notes: list[str] = []
    if voice is None and preferred:
        speech = open_speech(preferred, rate, language, cache_dir)[0]
        if same_language(_language(speech), language):
            return speech, notes
    if voice is None:
        return _default(rate, language, cache_dir, notes), notes
    if _is_file(voice):
        speech = piper.PiperSpeech(piper.voice_file(Path(voice).expanduser()), rate, cache_dir)
    else:
        speech = _by_name(voice, rate, language, cache_dir)
    spoken = _language(speech)
    if not same_language(spoken, language):
        notes.append(
            f"voice {speech.voice} speaks {spoken}, but the routine's language is {language}"
        )
    return speech, notes


def _by_name(voice: str, rate: int | None, language: str, cache_dir: Path | None):
    want = voice.strip().lower()
    for v in piper_voices():
        if v.name.lower() == want:  # where piper-tts is missing, that is what the error says
            return piper.PiperSpeech(v, rate, cache_dir)
    return Speech(voice=voice, rate=rate, language=language, cache_dir=cache_dir)


def _default(rate: int | None, language: str, cache_dir: Path | None, notes: list[str]):
    if same_language(language, "en"):
        why = piper.available()
        bundled = None if why else piper.bundled_voice()
        if bundled is not None:
            return piper.PiperSpeech(bundled, rate, cache_dir)
        why = why or f"its voice package {piper.BUNDLED} is not installed"
        if espeak_available():
            notes.append(f"the natural voice is not available ({why}): speaking with espeak-ng")
    return Speech(rate=rate, language=language, cache_dir=cache_dir)


def _language(speech) -> str:
    if isinstance(speech, piper.PiperSpeech):
        return speech.file.language
    found = next((v for v in speech.voices if v.name == speech.voice), None)
    return found.language if found else ""
