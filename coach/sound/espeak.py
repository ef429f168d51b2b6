"""The espeak-ng program as a speech engine: a voice for nearly every language, and optional.
Piper speaks English without it (piper-tts carries its own espeak-ng phonemizer); other
languages say in one line what to install.

espeak-ng runs as a command, one process per phrase, not through pyttsx3. Measured on this
stack: pyttsx3's espeak driver returns before files are written (missing in 8 of 15 runs),
drops or mixes files when several are queued, starts each file with ~44 ms of the previous
phrase and applies a rate one call late. The command is deterministic (same bytes every run)
and takes ~10 ms a phrase. Its voices are read from the espeak-ng-data folder the command
reports (`--version`), as libespeak-ng itself does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from coach.cache import store
from coach.errors import SpeechError
from coach.sound.speech import (
    CachedSpeech,
    Engine,
    Pronounce,
    Voice,
    checked_rate,
    shown,
    trim,
)
from coach.timeline import SAMPLE_RATE

ENGINE = "espeak-ng"


# espeak's default amplitude (100) peaked at -1.7 dBFS on 12 phrases and reaches 0 dBFS on
# others; at 60 the peak over 308 phrases was -6.4 dBFS. The renderer normalizes loudness later.
AMPLITUDE = 60


# espeak pads each phrase with exact digital zeros (~16 ms before, ~550 ms after at 120 wpm).
# Trimming at |sample| > 16 (-66 dBFS at amplitude 60) removed at most 5 samples of sound at
# the start and 15 at the end over 308 phrases (soft onsets such as "f", "h", "s" stay), while
# a threshold of 64 cut up to 30 samples (1.4 ms) off a soft onset.
SILENCE = 16


TRIM_VERSION = 1  # bump when trimming changes, so old cached clips are not reused


# Words a minute as heard -> espeak-ng's -s, as SPEED[0] * rate + SPEED[1]. espeak-ng's -s is
# not what one hears: over the 213 phrases of the three built-in routines (their steps, pre-roll
# and aftercare), trimmed, -s 90, 120, 160, 200 and 300 were heard at 96.1, 129.1, 174.2, 220.0
# and 338.2 words a minute (words over the clips' own length). The line fitted to eight such
# points is within 1.7 of each -s from 90 to 250 (3.1 at 300); espeak-ng clamps -s below 80
# (heard at 90), hence RATE_RANGE's floor.
SPEED = (0.879, 5.1)


def speed(rate: int) -> int:
    """espeak-ng's -s for `rate` words a minute as heard."""
    return round(SPEED[0] * rate + SPEED[1])


DEFAULT_VOICES = {"en": "en-us"}  # espeak's plain "en" is British; American English reads best


PARALLEL_FROM = 4  # fewer missing phrases than this are synthesized one after the other


INSTALL = (
    "the espeak-ng program is not installed (apt install espeak-ng, brew install espeak-ng, "
    "or winget install espeak-ng)"
)


def espeak_available() -> bool:
    return shutil.which(ENGINE) is not None


def _matches(voice: Voice, language: str) -> bool:
    lang = language.lower()
    return voice.language == lang or voice.language.startswith(lang + "-")


def list_voices(language: str | None = None) -> list[Voice]:
    """The voices espeak-ng can speak with (all, or those for `language`, e.g. "en" or "de")."""
    binary = shutil.which(ENGINE)
    if binary is None:
        raise SpeechError(INSTALL, need="install")
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
                engine=ENGINE,
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
        pronounce: Pronounce | None = None,
    ):
        super().__init__(cache_dir, pronounce)
        binary = shutil.which(ENGINE)
        if binary is None:
            raise SpeechError(INSTALL, need="install")
        self.rate = checked_rate(rate)
        self.speed = speed(self.rate)
        self._binary = binary
        info = _engine_info(binary, self._dir)
        self.version = info["version"]
        self.voices = [Voice(**v) for v in info["voices"]]
        self.voice = self._resolve(voice, language, self.voices)
        self.timeout = timeout

    @property
    def language(self) -> str:
        """The language its voice speaks, e.g. "en-us"."""
        return next((v.language for v in self.voices if v.name == self.voice), "")

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
        # The -s given, not the rate: a new calibration must not reuse clips of the old one.
        return [f"{ENGINE} {self.version}", self.voice, self.speed, AMPLITUDE, TRIM_VERSION]

    def _make_many(self, texts: list[str]) -> Iterator[bytes]:
        texts = [self.spoken(t) for t in texts]
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
        command = [self._binary, "--stdout", "-v", self.voice, "-s", str(self.speed)]
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
            return trim(parse_wav(done.stdout), SILENCE)
        except ValueError as e:
            raise SpeechError(f"espeak-ng failed on {shown(text)} ({e})") from None


def _open_espeak(
    voice: str | None,
    rate: int | None,
    language: str,
    cache_dir: Path | None,
    pronounce: Pronounce | None = None,
):
    # espeak-ng takes any name it can match (titles, ids, language codes): it is asked last.
    return Speech(voice, rate, language, cache_dir, pronounce=pronounce)


ESPEAK = Engine(
    ENGINE,
    missing=lambda: "" if espeak_available() else INSTALL,
    voices=lambda: list_voices(),
    default_for=lambda language: True,
    open=_open_espeak,
)
