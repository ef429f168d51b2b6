"""Speech: each phrase as a trimmed int16 clip, and its exact length in samples.

The seam: a speech engine (`SpeechEngine`) has a name (`engine`: "piper", "espeak-ng" or
"estimate"), a `voice`, a `rate`, the length of each phrase (`lengths`) and, unless it is the
estimate, the sound of each phrase (`clip`: int16 mono at SAMPLE_RATE, sound from sample 0 to
the last sample). The compiler and renderer see only that. Engines:
- `Speech` here: the espeak-ng command, for every language and as the fallback;
- `coach.sound.piper.PiperSpeech`: Piper neural voices, the default for English;
- `Estimate` here: lengths guessed from words a minute, no sound.
`coach.sound.voices` decides which engine speaks a voice name.

espeak-ng runs as a command, one process per phrase, not through pyttsx3. Measured on this
stack: pyttsx3's espeak driver returns before files are written (missing in 8 of 15 runs),
drops or mixes files when several are queued, starts each file with ~44 ms of the previous
phrase and applies a rate one call late. The command is deterministic (same bytes every run)
and takes ~10 ms a phrase. Its voices are read from the espeak-ng-data folder the command
reports (`--version`), as libespeak-ng itself does.

Every made clip is cached with its length and checksum (coach.cache), keyed by everything that
shapes it, so a warm `coach preview` runs no subprocess and imports no numpy or onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from coach.cache import cache_root, read_clip, store, store_clip
from coach.errors import SpeechError
from coach.timeline import SAMPLE_RATE

ENGINE = "espeak-ng"
DEFAULT_RATE = 120  # words a minute: massage narration runs at 100-120
# espeak-ng clamps rates below 80 and garbles rates above 450 (a word comes out as a chirp).
MIN_RATE, MAX_RATE = 80, 450
# espeak's default amplitude (100) peaked at -1.7 dBFS on 12 phrases and reaches 0 dBFS on
# others; at 60 the peak over 308 phrases was -6.4 dBFS. The renderer normalizes loudness later.
AMPLITUDE = 60
# espeak pads each phrase with exact digital zeros (~16 ms before, ~550 ms after at 120 wpm).
# Trimming at |sample| > 16 (-66 dBFS at amplitude 60) removed at most 5 samples of sound at
# the start and 15 at the end over 308 phrases (soft onsets such as "f", "h", "s" stay), while
# a threshold of 64 cut up to 30 samples (1.4 ms) off a soft onset.
SILENCE = 16
TRIM_VERSION = 1  # bump when trimming changes, so old cached clips are not reused
DEFAULT_VOICES = {"en": "en-us"}  # espeak's plain "en" is British; American English reads best
PARALLEL_FROM = 4  # fewer missing phrases than this are synthesized one after the other

Progress = Callable[[int, int], None]  # (phrases made so far, phrases to make)


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
    engine: str = ENGINE


def espeak_available() -> bool:
    return shutil.which(ENGINE) is not None


def same_language(a: str, b: str) -> bool:
    """Whether two language codes name one language ("en", "en-us" and "en_US" do)."""
    return re.split(r"[-_]", a.lower())[0] == re.split(r"[-_]", b.lower())[0]


def _matches(voice: Voice, language: str) -> bool:
    lang = language.lower()
    return voice.language == lang or voice.language.startswith(lang + "-")


def list_voices(language: str | None = None) -> list[Voice]:
    """The voices espeak-ng can speak with (all, or those for `language`, e.g. "en" or "de")."""
    binary = shutil.which(ENGINE)
    if binary is None:
        raise SpeechError("espeak-ng is not installed", need="install")
    return [v for v in _espeak_voices(binary) if language is None or _matches(v, language)]


def _espeak_voices(binary: str) -> list[Voice]:
    """`espeak-ng --voices`, less the MBROLA voices (files under mb/): those fail unless the
    separate mbrola program and its voice files are installed. What is left are the same 131
    voices pyttsx3's driver lists (measured), in 20 ms instead of 130 ms."""
    out = _run(binary, "--voices")
    voices = []
    for line in out.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5 or fields[4].startswith("mb/"):
            continue
        gender = {"M": "male", "F": "female"}.get(fields[2].rpartition("/")[2], "")
        voices.append(
            Voice(
                # The file name is what `espeak-ng -v` takes (any case): "gmw/en-US" -> "en-us".
                name=fields[4].rsplit("/", 1)[-1].lower(),
                language=fields[1].lower(),
                gender=gender,
                title=fields[3].replace("_", " "),
            )
        )
    return sorted(voices, key=lambda v: (v.language, v.name))


def _run(binary: str, *args: str) -> str:
    try:
        return subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise SpeechError(f"espeak-ng does not run ({e})", need="install") from None


def default_voice(language: str, voices: Iterable[Voice]) -> str | None:
    """The voice a routine in `language` gets when it names none (None if there is none)."""
    voices = list(voices)
    lang = language.lower()
    want = DEFAULT_VOICES.get(lang, lang)
    # By name first ("en" -> "en-us", "de" -> "de"), then by exact language, then any dialect.
    tests = (lambda v: v.name == want, lambda v: v.language == lang, lambda v: _matches(v, lang))
    return next((v.name for test in tests for v in voices if test(v)), None)


def find_voice(name: str, voices: Iterable[Voice]) -> Voice | None:
    """The voice `name` means: a voice's name ("en-us"), espeak's id ("gmw/en-us"), its title
    ("English (America)") or, failing those, a language code ("en-gb" -> espeak's "en")."""
    voices = list(voices)
    want = name.strip().lower()
    for v in voices:
        if want in (v.name.lower(), v.title.lower()) or want.endswith("/" + v.name.lower()):
            return v
    return next((v for v in voices if v.language == want.replace("_", "-")), None)


def _engine_info(binary: str, cache: Path) -> dict:
    """espeak-ng's version and voices, cached per installed binary (its path, size, mtime).

    Asking costs two subprocesses; a warm preview must not pay them every run.
    """
    st = os.stat(binary)
    fingerprint = f"{os.path.realpath(binary)}:{st.st_size}:{st.st_mtime_ns}"
    path = cache / f"engine-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.json"
    try:
        info = json.loads(path.read_text())
        if isinstance(info, dict) and {"version", "voices"} <= info.keys():
            return info
    except (OSError, ValueError):
        pass
    out = _run(binary, "--version")
    version = re.search(r"text-to-speech:\s*(\S+)", out)
    info = {
        "version": version.group(1) if version else out.strip(),
        "voices": [asdict(v) for v in _espeak_voices(binary)],
    }
    store(path, json.dumps(info).encode())
    return info


def parse_wav(data: bytes) -> bytes:
    """The PCM bytes of espeak's --stdout WAV, checking it is 16-bit mono at SAMPLE_RATE.

    espeak writes to a pipe, so its header cannot give the real length (it says 0x7ffff000):
    walk the RIFF chunks and take everything after the `data` chunk's header.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a WAV stream")
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if chunk == b"data":
            if fmt != (1, 1, SAMPLE_RATE, 16):
                raise ValueError(f"unexpected format {fmt}")
            pcm = data[pos + 8 :]
            return pcm[: len(pcm) - len(pcm) % 2]
        if chunk == b"fmt ":
            f = data[pos + 8 : pos + 8 + 16]
            fmt = (
                int.from_bytes(f[0:2], "little"),  # 1 = PCM
                int.from_bytes(f[2:4], "little"),  # channels
                int.from_bytes(f[4:8], "little"),  # sample rate
                int.from_bytes(f[14:16], "little"),  # bits a sample
            )
        pos += 8 + size + size % 2
    raise ValueError("no data chunk")


def trim(pcm: bytes, silence: int = SILENCE) -> bytes:
    """Cut the silence before the first and after the last sample louder than `silence`."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero((x > silence) | (x < -silence))
    if not len(loud):
        return b""
    return x[loud[0] : loud[-1] + 1].tobytes()


def shown(text: str) -> str:
    """A phrase as an error message quotes it: whole, or its first 57 characters."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


class CachedSpeech:
    """A speech engine whose clips are made once (`_make_many`) and then read from the cache.

    Subclasses give `engine`, `voice`, `rate`, `_recipe()` (everything besides the text that
    shapes a clip, so it keys the cache) and `_make_many(texts)` (the trimmed PCM of each).
    `progress`, when set, hears of every phrase made: a routine's first synthesis with a neural
    voice takes tens of seconds.
    """

    engine = ""
    voice = ""
    rate = DEFAULT_RATE

    def __init__(self, cache_dir: Path | None = None):
        self._dir = cache_root(cache_dir) / "speech"
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

    def cache_path(self, text: str) -> Path:
        """Where the trimmed clip of `text` is cached; the key holds everything that shapes it."""
        key = json.dumps([*self._recipe(), text])
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


class Speech(CachedSpeech):
    """Phrases spoken by espeak-ng: their lengths (`lengths`) and sounds (`clip`), cached."""

    engine = ENGINE

    def __init__(
        self,
        voice: str | None = None,
        rate: int | None = None,
        language: str = "en",
        cache_dir: Path | None = None,
        timeout: float = 20.0,
    ):
        super().__init__(cache_dir)
        binary = shutil.which(ENGINE)
        if binary is None:
            raise SpeechError("espeak-ng is not installed", need="install")
        self.rate = DEFAULT_RATE if rate is None else int(rate)
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise SpeechError(
                f"rate {self.rate} is out of range: use {MIN_RATE} to {MAX_RATE} words a minute"
            )
        self._binary = binary
        info = _engine_info(binary, self._dir)
        self.version = info["version"]
        self.voices = [Voice(**v) for v in info["voices"]]
        self.voice = self._resolve(voice, language, self.voices)
        self.timeout = timeout

    @staticmethod
    def _resolve(voice: str | None, language: str, voices: list[Voice]) -> str:
        if voice is None:
            found = default_voice(language, voices)
            if found is None:
                raise SpeechError(f"no voice for language {language!r}", need="voice")
            return found
        found = find_voice(voice, voices)
        if found is None:
            raise SpeechError(f"unknown voice {voice!r}", need="voice")
        return found.name

    def _recipe(self) -> list:
        return [f"{ENGINE} {self.version}", self.voice, self.rate, AMPLITUDE, TRIM_VERSION]

    def _make_many(self, texts: list[str]) -> Iterator[bytes]:
        if len(texts) < PARALLEL_FROM:
            yield from map(self._synthesize, texts)
            return
        from concurrent.futures import ThreadPoolExecutor

        # The work happens in espeak-ng processes, so threads keep every core busy.
        pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        try:
            yield from pool.map(self._synthesize, texts)
        finally:
            pool.shutdown(cancel_futures=True)

    def _synthesize(self, text: str) -> bytes:
        """Speak one phrase with its own espeak-ng process and trim it."""
        # The text goes in on stdin, so a phrase starting with "-" is not taken for an option.
        command = [self._binary, "--stdout", "-v", self.voice, "-s", str(self.rate)]
        command += ["-a", str(AMPLITUDE)]
        try:
            done = subprocess.run(
                command, input=text.encode(), capture_output=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            raise SpeechError(
                f"espeak-ng took over {self.timeout:g} s on {shown(text)}", need="retry"
            ) from None
        except OSError as e:
            raise SpeechError(f"espeak-ng did not start ({e})", need="install") from None
        try:
            if done.returncode != 0:
                raise ValueError(done.stderr.decode(errors="replace").strip().splitlines()[-1:])
            return trim(parse_wav(done.stdout))
        except ValueError as e:
            raise SpeechError(f"espeak-ng failed on {shown(text)} ({e})") from None


class Estimate:
    """Speech lengths guessed from words a minute, for a preview without a speech engine.

    Labelled as an estimate everywhere it shows (the timeline's engine is "estimate").
    """

    engine = "estimate"
    voice = "estimate"
    # Fitted to espeak-ng at 120 wpm on the routines' own narration (26 phrases): it says about
    # 1.15 times the nominal words a minute and pauses ~0.37 s at , ; : . ? ! inside a phrase.
    # Piper's rate is calibrated to the same lengths (coach/piper.py), so this fits both.
    PACE = 1.15
    PAUSE = 0.37

    def __init__(self, rate: int = DEFAULT_RATE):
        if rate <= 0:
            raise SpeechError(f"rate {rate} is not a speed: give words a minute, e.g. 120")
        self.rate = int(rate)

    def lengths(self, texts: Iterable[str]) -> dict[str, int]:
        out = {}
        for text in dict.fromkeys(texts):
            words = len(re.findall(r"[\w']+", text))
            # Only pauses inside the phrase: the one after its last word is trimmed away.
            pauses = len(re.findall(r"[,;:.?!]+(?=\s*[\w'])", text))
            seconds = words * 60 / (self.rate * self.PACE) + pauses * self.PAUSE
            out[text] = round(seconds * SAMPLE_RATE)
        return out
