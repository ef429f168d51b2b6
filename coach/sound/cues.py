"""Cue sounds: the built-in chime, bell, tick, gong and countdown, or a user's own audio file.

A cue's clip starts with sound at its first sample and ends where its sound ends (faded to
true zero), so the timeline places its onset exactly and its `end` is where it falls silent.
numpy loads only when a clip is decoded: `coach preview` needs just the lengths of built-ins,
which come from their WAV headers.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from coach.errors import CueError, ToolMissing
from coach.resources import BUILTIN_CUES, cues_dir
from coach.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

# Quieter than about -60 dBFS counts as silence at a clip's head or tail (16-bit units).
SILENCE = round(32768 * 10 ** (-60 / 20))
# The last few milliseconds are faded to exactly zero, so a cut-off tail cannot click.
FADE_SECONDS = 0.005


class Cues:
    """Cue clips by name, decoded once per instance and kept in memory."""

    def __init__(self, rate: int = SAMPLE_RATE):
        self.rate = rate
        self._clips: dict[str, np.ndarray] = {}

    def length(self, name: str) -> int:
        """The clip's length in samples (built-ins: from the WAV header, nothing decoded)."""
        if name not in self._clips and name in BUILTIN_CUES:
            with _open_builtin(name) as w:
                if w.getframerate() == self.rate:
                    return w.getnframes()
        return len(self.clip(name))

    def clip(self, name: str) -> np.ndarray:
        """The clip as int16 mono at this instance's rate, trimmed of head and tail silence."""
        sound = self._clips.get(name)
        if sound is None:
            sound = (
                _load_builtin(name, self.rate) if name in BUILTIN_CUES else _decode(name, self.rate)
            )
            self._clips[name] = sound
        return sound


def trim(x: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """int16 `x` without its silent head and tail, its last few ms faded to exactly zero.

    Empty if `x` never rises above the silence floor.
    """
    import numpy as np

    loud = np.flatnonzero(np.abs(x.astype(np.int32)) >= SILENCE)
    if len(loud) == 0:
        return x[:0].copy()
    out = x[loud[0] : loud[-1] + 1].copy()
    fade = min(len(out), round(FADE_SECONDS * rate))
    ramp = np.cos(np.linspace(0.0, np.pi / 2, fade)) ** 2  # ends at exactly 0
    out[len(out) - fade :] = np.round(out[len(out) - fade :] * ramp).astype(np.int16)
    return out


def _open_builtin(name: str) -> wave.Wave_read:
    path = cues_dir() / f"{name}.wav"
    try:
        return wave.open(str(path), "rb")
    except (OSError, EOFError, wave.Error):
        raise CueError(f"built-in cue sound {path} is missing or broken: reinstall coach") from None


def _load_builtin(name: str, rate: int) -> np.ndarray:
    import numpy as np

    with _open_builtin(name) as w:
        if w.getframerate() != rate:
            return _ffmpeg_decode(cues_dir() / f"{name}.wav", rate)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)


def _decode(name: str, rate: int) -> np.ndarray:
    """A user's audio file in any format ffmpeg reads, as trimmed int16 mono at `rate`."""
    path = Path(name)
    if not path.is_absolute():
        choices = ", ".join(BUILTIN_CUES)
        raise CueError(f"unknown cue sound {name!r}: use one of {choices} or an audio file path")
    if not path.is_file():
        raise CueError(f"cue sound not found: {path}")
    try:
        path.open("rb").close()
    except OSError as error:
        raise CueError(f"cannot read cue sound {path}: {error.strerror or error}") from None
    sound = trim(_ffmpeg_decode(path, rate), rate)
    if len(sound) == 0:
        raise CueError(f"cue sound {path} is silent")
    return sound


def decode_command(path: Path, rate: int, before_input: tuple[str, ...] = ()) -> list[str]:
    """ffmpeg decoding `path`'s first audio stream to raw mono int16 at `rate` on stdout."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *before_input]
    cmd += ["-i", str(path), "-map", "0:a:0", "-vn"]
    return [*cmd, "-ac", "1", "-ar", str(rate), "-f", "s16le", "pipe:1"]


def _ffmpeg_decode(path: Path, rate: int) -> np.ndarray:
    """`path` decoded, mixed to mono and resampled to `rate` by ffmpeg, as int16.

    ffmpeg's resampler is a proper windowed-sinc one: no aliasing whistle from a 44.1 or
    48 kHz file's highs. (pydub's `parameters` land after its output name, where ffmpeg 5
    ignores them, and pydub reads WAV files without ffmpeg at all.)
    """
    import numpy as np

    try:
        done = subprocess.run(decode_command(path, rate), capture_output=True, check=False)
    except FileNotFoundError:
        raise ToolMissing("ffmpeg", "cues") from None
    if done.returncode != 0 or not done.stdout:
        raise CueError(f"cue sound {path} is not audio that ffmpeg can decode")
    return np.frombuffer(done.stdout, "<i2").astype(np.int16)
