"""Speech: each phrase as a trimmed int16 clip, and its exact length in samples.

On Linux the coach synthesizes with the `espeak-ng` command, one process per phrase, not with
pyttsx3. Measured on this stack (docs: shared notes, stack-findings.md): pyttsx3's espeak
driver returns before files are written, drops or mixes files when several are queued, starts
each file with ~44 ms of the previous phrase and applies a rate one call late. The command is
deterministic (same bytes every run) and takes ~10 ms a phrase. pyttsx3 is used only to list
voices, which it does correctly: it lists exactly the voices libespeak-ng can load (131 here),
with ids `espeak-ng -v` accepts, whereas `espeak-ng --voices=en` also lists MBROLA voices that
fail unless the separate mbrola program and voice files are installed.

Clips are cached as trimmed raw s16le files, so the length of a cached phrase is its file size
over two: a warm `coach preview` runs no subprocess and imports no numpy.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from coach.cache import cache_root, store
from coach.errors import CoachError
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


class SpeechError(CoachError):
    """Speech could not be made: espeak-ng missing, an unknown voice, a failed phrase."""


@dataclass(frozen=True)
class Voice:
    name: str  # what --voice and `voice =` take, e.g. "en-us"
    language: str  # e.g. "en-us"; "en-gb" for espeak's "en"
    gender: str = ""  # "male", "female" or "" when espeak does not say
    title: str = ""  # espeak's own description, e.g. "English (America)"


def espeak_available() -> bool:
    return shutil.which(ENGINE) is not None


def _matches(voice: Voice, language: str) -> bool:
    lang = language.lower()
    return voice.language == lang or voice.language.startswith(lang + "-")


_voices_lock = threading.Lock()  # libespeak-ng crashes when two threads list voices at once
_all_voices: list[Voice] = []


def list_voices(language: str | None = None) -> list[Voice]:
    """The voices espeak-ng can speak with (all, or those for `language`, e.g. "en" or "de")."""
    with _voices_lock:
        if not _all_voices:
            _all_voices.extend(_ask_pyttsx3())
    return [v for v in _all_voices if language is None or _matches(v, language)]


def _ask_pyttsx3() -> list[Voice]:
    try:
        import pyttsx3

        found = pyttsx3.init().getProperty("voices")
    except Exception as e:  # pyttsx3 raises OSError, RuntimeError or KeyError without espeak
        raise SpeechError(
            f"cannot list voices ({e}): run `make setup` (or apt-get install espeak-ng)"
        ) from None
    voices = [
        Voice(
            # The file name is what `espeak-ng -v` takes; measured identical to the full id.
            name=v.id.rsplit("/", 1)[-1],
            language=(v.languages[0] if v.languages else "").lower(),
            gender=(v.gender or "").lower(),
            title=v.name,
        )
        for v in found
    ]
    return sorted(voices, key=lambda v: (v.language, v.name))


def default_voice(language: str, voices: Iterable[Voice]) -> str | None:
    """The voice a routine in `language` gets when it names none (None if there is none)."""
    voices = list(voices)
    lang = language.lower()
    want = DEFAULT_VOICES.get(lang, lang)
    # By name first ("en" -> "en-us", "de" -> "de"), then by exact language, then any dialect.
    tests = (lambda v: v.name == want, lambda v: v.language == lang, lambda v: _matches(v, lang))
    return next((v.name for test in tests for v in voices if test(v)), None)


def _engine_info(binary: str, cache: Path) -> dict:
    """espeak-ng's version and voices, cached per installed binary (its path, size, mtime).

    Asking costs ~0.2 s (a subprocess and pyttsx3); a warm preview must not pay it every run.
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
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise SpeechError(f"espeak-ng does not run ({e}): reinstall it with `make setup`") from None
    version = re.search(r"text-to-speech:\s*(\S+)", out)
    info = {
        "version": version.group(1) if version else out.strip(),
        "voices": [asdict(v) for v in list_voices()],
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


def trim(pcm: bytes) -> bytes:
    """Cut the silence before the first and after the last sample louder than SILENCE."""
    import numpy as np

    x = np.frombuffer(pcm, dtype="<i2")
    loud = np.flatnonzero((x > SILENCE) | (x < -SILENCE))
    if not len(loud):
        return b""
    return x[loud[0] : loud[-1] + 1].tobytes()


class Speech:
    """Phrases spoken by espeak-ng: their lengths (`lengths`) and sounds (`clip`), cached."""

    def __init__(
        self,
        voice: str | None = None,
        rate: int | None = None,
        language: str = "en",
        cache_dir: Path | None = None,
        timeout: float = 20.0,
    ):
        binary = shutil.which(ENGINE)
        if binary is None:
            raise SpeechError(
                "espeak-ng is not installed: run `make setup` (or apt-get install espeak-ng), "
                "or use --estimate"
            )
        self.rate = DEFAULT_RATE if rate is None else int(rate)
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise SpeechError(
                f"rate {self.rate} is out of range: use {MIN_RATE} to {MAX_RATE} words a minute"
            )
        self._binary = binary
        self._dir = cache_root(cache_dir) / "speech"
        info = _engine_info(binary, self._dir)
        self.engine = f"{ENGINE} {info['version']}"
        self.voice = self._resolve(voice, language, [Voice(**v) for v in info["voices"]])
        self.timeout = timeout
        self.synthesized = 0  # phrases this object had espeak-ng speak (cache misses)

    @staticmethod
    def _resolve(voice: str | None, language: str, voices: list[Voice]) -> str:
        if voice is None:
            found = default_voice(language, voices)
            if found is None:
                raise SpeechError(
                    f"no voice for language {language!r}: `coach voices` lists the voices"
                )
            return found
        want = voice.strip().lower()
        for v in voices:
            # the name ("en-us"), espeak's id ("gmw/en-us") or its title ("English (America)")
            if want in (v.name, v.title.lower()) or want.endswith("/" + v.name):
                return v.name
        raise SpeechError(f"unknown voice {voice!r}: `coach voices` lists the voices")

    def cache_path(self, text: str) -> Path:
        """Where the trimmed clip of `text` is cached; the key holds everything that shapes it."""
        key = json.dumps([self.engine, self.voice, self.rate, AMPLITUDE, TRIM_VERSION, text])
        return self._dir / f"{hashlib.sha256(key.encode()).hexdigest()}.s16"

    def lengths(self, texts: Iterable[str]) -> dict[str, int]:
        """Each text's trimmed clip length in samples, synthesizing the phrases not cached."""
        found: dict[str, int] = {}
        missing = []
        for text in dict.fromkeys(texts):
            size = self._cached_size(text)
            if size is None:
                missing.append(text)
            else:
                found[text] = size // 2
        for text, pcm in self._synthesize_all(missing):
            found[text] = len(pcm) // 2
        return found

    def clip(self, text: str):
        """The phrase as int16 mono PCM at SAMPLE_RATE; sound starts at sample 0."""
        import numpy as np

        if self._cached_size(text) is not None:
            try:
                data = self.cache_path(text).read_bytes()
                if data and len(data) % 2 == 0:
                    return np.frombuffer(data, dtype="<i2").copy()
            except OSError:
                pass
        ((_, pcm),) = self._synthesize_all([text])
        return np.frombuffer(pcm, dtype="<i2").copy()

    def _cached_size(self, text: str) -> int | None:
        """The cached clip's size in bytes, or None when there is no usable cached clip."""
        try:
            size = self.cache_path(text).stat().st_size
        except OSError:
            return None
        # A phrase always has sound, and samples are two bytes: anything else is damaged.
        return size if size and size % 2 == 0 else None

    def _synthesize_all(self, texts: list[str]) -> list[tuple[str, bytes]]:
        if len(texts) < PARALLEL_FROM:
            return [(t, self._synthesize(t)) for t in texts]
        from concurrent.futures import ThreadPoolExecutor

        # The work happens in espeak-ng processes, so threads keep every core busy.
        pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        try:
            return list(zip(texts, pool.map(self._synthesize, texts), strict=True))
        finally:
            pool.shutdown(cancel_futures=True)

    def _synthesize(self, text: str) -> bytes:
        """Speak one phrase with its own espeak-ng process, trim it and cache it."""
        # The text goes in on stdin, so a phrase starting with "-" is not taken for an option.
        command = [self._binary, "--stdout", "-v", self.voice, "-s", str(self.rate)]
        command += ["-a", str(AMPLITUDE)]
        shown = text if len(text) <= 60 else text[:57] + "..."
        try:
            done = subprocess.run(
                command, input=text.encode(), capture_output=True, timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            raise SpeechError(
                f"espeak-ng took over {self.timeout:g} s on {shown!r}: try again, or use --estimate"
            ) from None
        except OSError as e:
            raise SpeechError(
                f"espeak-ng did not start ({e}): reinstall it with `make setup`"
            ) from None
        try:
            if done.returncode != 0:
                raise ValueError(done.stderr.decode(errors="replace").strip().splitlines()[-1:])
            pcm = trim(parse_wav(done.stdout))
        except ValueError as e:
            raise SpeechError(f"espeak-ng failed on {shown!r} ({e}): check the phrase") from None
        if not pcm:
            raise SpeechError(f"espeak-ng made no sound for {shown!r}: give the phrase words")
        store(self.cache_path(text), pcm)
        self.synthesized += 1
        return pcm


class Estimate:
    """Speech lengths guessed from words a minute, for `--estimate` (needs no espeak-ng).

    Labelled as an estimate everywhere it shows (the timeline's voice is "estimate").
    """

    voice = "estimate"
    # Fitted to espeak-ng at 120 wpm on the routines' own narration (26 phrases): it says about
    # 1.15 times the nominal words a minute and pauses ~0.37 s at , ; : . ? ! inside a phrase.
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
