"""Cue sounds: the built-in chime, bell, tick, gong and countdown, or a user's own audio file.

A cue's clip starts with sound at its first sample and ends where its sound ends (faded to
true zero), so the timeline places its onset exactly and its `end` is where it falls silent.
numpy and pydub load only when a clip is decoded: `coach preview` needs just the lengths of
built-ins, which come from their WAV headers.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import TYPE_CHECKING

from coach.errors import CoachError
from coach.resources import BUILTIN_CUES, cues_dir
from coach.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

# Quieter than about -60 dBFS counts as silence at a clip's head or tail (16-bit units).
SILENCE = round(32768 * 10 ** (-60 / 20))
# The last few milliseconds are faded to exactly zero, so a cut-off tail cannot click.
FADE_SECONDS = 0.005


class CueError(CoachError):
    """A cue sound that cannot be found or decoded."""


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
        native = w.getframerate()
        sound = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)
    return sound if native == rate else _resample(sound, native, rate)


def _decode(name: str, rate: int) -> np.ndarray:
    """A user's audio file in any format ffmpeg reads, as trimmed int16 mono at `rate`."""
    import warnings

    import numpy as np

    path = Path(name)
    if not path.is_absolute():
        choices = ", ".join(BUILTIN_CUES)
        raise CueError(f"unknown cue sound {name!r}: use one of {choices} or an audio file path")
    if not path.is_file():
        raise CueError(f"cue sound not found: {path}")
    with warnings.catch_warnings():
        # pydub 0.25 has invalid escapes in its regexes (Python 3.12+ warns while compiling
        # it) and imports audioop (deprecated before 3.13, audioop-lts from 3.13 on).
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydub import AudioSegment
        from pydub.exceptions import CouldntDecodeError
    try:
        segment = AudioSegment.from_file(path)
    except CouldntDecodeError:
        raise CueError(f"cue sound {path} is not audio that ffmpeg can decode") from None
    except OSError as error:  # ffmpeg itself missing, or the file unreadable
        raise CueError(f"cannot decode cue sound {path}: {error.strerror or error}") from None
    segment = segment.set_channels(1).set_sample_width(2)
    sound = np.frombuffer(segment.raw_data, "<i2").astype(np.int16)
    if segment.frame_rate != rate:
        sound = _resample(sound, segment.frame_rate, rate)
    sound = trim(sound, rate)
    if len(sound) == 0:
        raise CueError(f"cue sound {path} is silent")
    return sound


def _resample(x: np.ndarray, source: int, target: int) -> np.ndarray:
    """int16 `x` from `source` Hz to `target` Hz with a proper anti-alias filter.

    (pydub's own set_frame_rate interpolates linearly, which dulls a bell's partials.)
    """
    from math import gcd

    import numpy as np
    from scipy.signal import resample_poly

    g = gcd(source, target)
    y = resample_poly(x.astype(np.float64), target // g, source // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)
