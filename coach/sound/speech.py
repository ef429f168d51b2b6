"""Speech: each phrase as a trimmed int16 clip, and its exact length in samples.

The seam: a speech engine (`SpeechEngine`) has a name (`engine`: "piper", "espeak-ng" or
"estimate"), a `voice`, a `rate`, the length of each phrase (`lengths`) and, unless it is the
estimate, the sound of each phrase (`clip`: int16 mono at SAMPLE_RATE, sound from sample 0 to
the last sample). The compiler and renderer see only that. Engines:
- `coach.sound.piper.PiperSpeech`: Piper neural voices, the default for English;
- `coach.sound.espeak.Speech`: the espeak-ng program, for every language and as the fallback;
- `Estimate` here: lengths guessed from words a minute, no sound.
Each engine that speaks has an `Engine` entry (what it needs, its voices, how to open one);
`coach.sound.voices` keeps them in a list and asks each in turn which speaks a voice name.

Every made clip is cached with its length and checksum (coach.cache) by `CachedSpeech`, keyed
by everything that shapes it, so a warm `coach preview` runs no subprocess and imports no
numpy or onnxruntime. An engine that speaks says the words of its lexicon (coach.lexicon:
the massage terms, and a routine's own `[pronounce]`) by their sounds, not their spelling.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from coach.cache import cache_root, read_clip, store_clip
from coach.errors import SpeechError
from coach.lexicon import lexicon_for, respell
from coach.script.model import RATE_RANGE
from coach.timeline import SAMPLE_RATE

# Words a minute as heard (`heard_rate`): guided audio runs at 100-130; see the README's
# "Rate" for why this one.
DEFAULT_RATE = 110


Progress = Callable[[int, int], None]  # (phrases made so far, phrases to make)
Pronounce = Mapping[str, str]  # word -> its IPA: a routine's `[pronounce]` table


class SpeechEngine(Protocol):
    """What the compiler and the renderer need from speech (see the module docstring)."""

    engine: str  # "piper", "espeak-ng" or "estimate"
    voice: str
    rate: int

    def lengths(self, texts: Iterable[str]) -> Mapping[str, int]: ...

    def clip(self, text: str): ...  # int16 numpy array; not on the estimate


@dataclass(frozen=True)
class Voice:
    name: str  # what --voice and `voice =` take, e.g. "en-us"
    language: str  # e.g. "en-us"; "en-gb" for espeak's "en"
    gender: str = ""  # "male", "female" or "" when the voice does not say
    title: str = ""  # the engine's own description, e.g. "English (America)"
    engine: str = ""  # the engine that speaks it: "piper" or "espeak-ng"


@dataclass(frozen=True)
class Engine:
    """A speech engine as `coach.sound.voices` sees it. Its voices and its defaults are asked
    for only where `missing()` is "" (it can speak here); a voice named is offered to every
    engine, so naming one whose engine cannot run says what to install."""

    name: str
    missing: Callable[[], str]  # "" when it can speak here, else what to install (one clause)
    voices: Callable[[], list[Voice]]  # what `coach voices` lists
    default_for: Callable[[str], bool]  # whether it has a default voice for a language
    # The speech for a voice name (None: this engine's default for the language), or None
    # when the name is none of its voices or it has no default for the language. Given the
    # rate, the routine's language, the cache folder and the routine's own pronunciations.
    open: Callable[
        [str | None, int | None, str, Path | None, Pronounce | None], SpeechEngine | None
    ]


def same_language(a: str, b: str) -> bool:
    """Whether two language codes name one language ("en", "en-us" and "en_US" do)."""
    return re.split(r"[-_]", a.lower())[0] == re.split(r"[-_]", b.lower())[0]


def trim(pcm: bytes, silence: int) -> bytes:
    """Cut the silence before the first and after the last sample louder than `silence`."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero((x > silence) | (x < -silence))
    if not len(loud):
        return b""
    return x[loud[0] : loud[-1] + 1].tobytes()


def checked_rate(rate: int | None) -> int:
    """The rate an engine speaks at: `rate`, or the default; SpeechError when out of range
    (the routine's range, one for every way a rate is given)."""
    rate = DEFAULT_RATE if rate is None else int(rate)
    low, high = RATE_RANGE
    if not low <= rate <= high:
        raise SpeechError(f"rate {rate} is out of range: use {low} to {high} words a minute")
    return rate


def words(text: str) -> int:
    """How many words a phrase says: numbers count as words ("3 to 5 out of 10" is six)."""
    return len(re.findall(r"[\w']+", text))


def heard_rate(lengths: Mapping[str, int]) -> float:
    """Words a minute as a listener hears them: the phrases' words over their trimmed clips'
    length in samples (what the renderer plays, pauses inside a phrase included)."""
    return sum(map(words, lengths)) * 60 * SAMPLE_RATE / sum(lengths.values())


def shown(text: str) -> str:
    """A phrase as an error message quotes it: whole, or its first 57 characters."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


class CachedSpeech:
    """A speech engine whose clips are made once (`_make_many`) and then read from the cache.

    Subclasses give `engine`, `voice`, `rate`, `language`, `_recipe()` (everything besides the
    text that shapes a clip, so it keys the cache) and `_make_many(texts)` (the trimmed PCM of
    each, from the texts as `spoken`).
    `progress`, when set, hears of every phrase made: a routine's first synthesis with a neural
    voice takes tens of seconds.
    """

    engine = ""
    voice = ""
    rate = DEFAULT_RATE

    def __init__(self, cache_dir: Path | None = None, pronounce: Pronounce | None = None):
        self._dir = cache_root(cache_dir) / "speech"
        self._pronounce = dict(pronounce or {})
        self.synthesized = 0  # phrases this object made (cache misses)
        self.progress: Progress | None = None
        # Clips the cache could not take (read-only, full): kept here instead, because making a
        # phrase again costs a neural voice a second or more, and the player asks for it live.
        self._uncached: dict[str, bytes] = {}
        self._lengths: dict[str, int] = {}  # asked again, a length is not read again

    def _recipe(self) -> list:
        raise NotImplementedError

    def _make_many(self, texts: list[str]) -> Iterator[bytes]:
        raise NotImplementedError

    @cached_property
    def lexicon(self) -> dict[str, str]:
        """The words said by their IPA: the massage terms in English, and the routine's own."""
        return lexicon_for(self.language, self._pronounce)

    def spoken(self, text: str) -> str:
        """What the engine is given for `text`: its lexicon words as the engine's phonemes."""
        return respell(text, self.lexicon, self.engine)

    def cache_path(self, text: str) -> Path:
        """Where the trimmed clip of `text` is cached; the key holds everything that shapes it
        (the text as spoken: a changed pronunciation is made anew)."""
        key = json.dumps([*self._recipe(), self.spoken(text)])
        return self._dir / f"{hashlib.sha256(key.encode()).hexdigest()}.clip"

    def lengths(self, texts: Iterable[str]) -> dict[str, int]:
        """Each text's trimmed clip length in samples, synthesizing the phrases not cached."""
        texts = list(dict.fromkeys(texts))
        found = self._lengths
        missing = []
        for text in texts:
            if text in found:
                continue
            pcm = self._uncached.get(text) or read_clip(self.cache_path(text))
            if pcm is None:
                missing.append(text)
            else:
                found[text] = len(pcm) // 2
        for text, pcm in self._make_all(missing):
            found[text] = len(pcm) // 2
        return {text: found[text] for text in texts}

    def made(self, texts: Iterable[str]) -> dict[str, int]:
        """The lengths of those of `texts` made already (cached, or made by this object), making
        none: a session played while its phrases are made asks this as they arrive."""
        found, out = self._lengths, {}
        for text in dict.fromkeys(texts):
            if text not in found:
                pcm = self._uncached.get(text) or read_clip(self.cache_path(text))
                if pcm is None:
                    continue
                found[text] = len(pcm) // 2
            out[text] = found[text]
        return out

    def clip(self, text: str):
        """The phrase as int16 mono PCM at SAMPLE_RATE; sound starts at sample 0."""
        import numpy as np

        pcm = self._uncached.get(text) or read_clip(self.cache_path(text))
        if pcm is None:
            ((_, pcm),) = self._make_all([text])
        return np.frombuffer(pcm, dtype="<i2").copy()

    def _make_all(self, texts: list[str]) -> Iterator[tuple[str, bytes]]:
        made = self._make_many(texts)
        for done, (text, pcm) in enumerate(zip(texts, made, strict=True), 1):
            if not pcm:
                raise SpeechError(f"{self.engine} made no sound for {shown(text)}")
            if not store_clip(self.cache_path(text), pcm):
                self._uncached[text] = pcm
            self.synthesized += 1
            if self.progress:
                self.progress(done, len(texts))
            yield text, pcm


class Estimate:
    """Speech lengths guessed from words a minute, for a preview without a speech engine.

    Labelled as an estimate everywhere it shows (the timeline's engine is "estimate").
    """

    engine = "estimate"
    voice = "estimate"
    # Fitted to the 213 phrases of the built-in routines (steps, pre-roll, aftercare) spoken by
    # espeak-ng at 120 words a minute as heard (both engines are calibrated to that, so this
    # fits both), in shares of a minute's words: a pause at , ; : . ? ! inside a phrase takes
    # 1.26 (least squares), and a word 0.838, which makes the total length right (least
    # squares' 0.804 came out 3 % short: the long titles pull it). At 100 and 160: 0.835, 0.851.
    WORD = 0.838
    PAUSE = 1.26

    def __init__(self, rate: int = DEFAULT_RATE):
        if rate <= 0:
            raise SpeechError(
                f"rate {rate} is not a speed: give words a minute, e.g. {DEFAULT_RATE}"
            )
        self.rate = int(rate)

    def lengths(self, texts: Iterable[str]) -> dict[str, int]:
        out = {}
        for text in dict.fromkeys(texts):
            # Only pauses inside the phrase: the one after its last word is trimmed away.
            pauses = len(re.findall(r"[,;:.?!]+(?=\s*[\w'])", text))
            seconds = (words(text) * self.WORD + pauses * self.PAUSE) * 60 / self.rate
            out[text] = round(seconds * SAMPLE_RATE)
        return out
