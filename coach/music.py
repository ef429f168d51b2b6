"""Background music under a guide: looped, quiet, and ducked under every spoken word and cue.

The music is decoded by ffmpeg as an endless stream (`-stream_loop -1`) and read one block at a
time, so memory stays constant however long the guide is. Ducking follows the timeline's events,
whose times are known to the sample, instead of detecting speech in the signal: the music is
already down when the first syllable starts and comes back only after the last one.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from coach.cues import decode_command
from coach.errors import CoachError
from coach.timeline import SAMPLE_RATE, Event

# The music bed sits well under the voice, and drops a further 10 dB while anything sounds.
MUSIC_OFFSET_LU = -14.0
DUCK_DB = -10.0
# 150 ms fades: quick enough to clear the way for a word, slow enough not to pump audibly.
FADE = SAMPLE_RATE * 150 // 1000
# Loudness is measured on at most the first 10 minutes: a long file costs no more than that.
MEASURE_SECONDS = 600
# Quiet (or silent) music is not pushed up by more than this: it would only raise its noise.
MAX_GAIN_DB = 20.0


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise CoachError("ffmpeg is not installed: install it (e.g. `make setup`) to use --music")
    return path


def _decode_cmd(path: Path, loop: bool) -> list[str]:
    """ffmpeg decoding `path` to raw mono PCM at SAMPLE_RATE on stdout, looped for ever or
    (to measure it) its first MEASURE_SECONDS."""
    _ffmpeg()  # a clear error when it is missing
    before_input = ("-stream_loop", "-1") if loop else ("-t", str(MEASURE_SECONDS))
    return decode_command(path, SAMPLE_RATE, before_input)


def measure_loudness(path: Path) -> float:
    """The music's integrated loudness in LUFS; CoachError if it holds no readable audio.

    Measured on the very mono stream that will be mixed in (ffmpeg's downmix inside a filter
    graph differs from `-ac 1` by 3 dB).
    """
    if not path.exists():
        raise CoachError(f"music file {path} does not exist: give the path of an audio file")
    if not path.is_file():  # a folder, or a device like /dev/zero that never ends
        what = "a folder" if path.is_dir() else "not a regular file"
        raise CoachError(f"music {path} is {what}: give the path of an audio file")
    decoder = subprocess.Popen(
        _decode_cmd(path, loop=False), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    cmd = [_ffmpeg(), "-hide_banner", "-nostats", "-f", "s16le", "-ar", str(SAMPLE_RATE)]
    cmd += ["-ac", "1", "-i", "pipe:0", "-af", "ebur128", "-f", "null", "-"]
    done = subprocess.run(cmd, stdin=decoder.stdout, capture_output=True, text=True)
    decoder.stdout.close()
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", done.stderr)
    if decoder.wait() != 0 or done.returncode != 0 or not found:
        raise CoachError(f"music file {path} is not audio that ffmpeg can read: choose another")
    return float(found[-1]) if found[-1] != "-inf" else -70.0


class Music:
    """A looping music stream at a fixed level: `read(n)` gives the next n samples as float32.

    Use it as a context manager so the ffmpeg process is always stopped.
    """

    def __init__(self, path: Path, level_lufs: float):
        self.path = path
        gain_db = min(level_lufs - measure_loudness(path), MAX_GAIN_DB)
        self.gain = np.float32(10 ** (gain_db / 20) / 32768.0)
        self._proc = subprocess.Popen(
            _decode_cmd(path, loop=True), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )

    def read(self, n: int) -> np.ndarray:
        data = bytearray()
        while len(data) < 2 * n:
            chunk = self._proc.stdout.read(2 * n - len(data))
            if not chunk:
                raise CoachError(f"music file {self.path} stopped decoding: choose another file")
            data += chunk
        return np.frombuffer(bytes(data), dtype="<i2").astype(np.float32) * self.gain

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.stdout.close()
        self._proc.wait()

    def __enter__(self) -> Music:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def duck_gain(events: Sequence[Event], b0: int, b1: int) -> np.ndarray:
    """The music's gain over samples [b0, b1): 1 in the clear, DUCK_DB under `events`.

    `events` are those sounding near the block (the caller passes the few it holds). The gain
    ramps down over FADE samples before each event starts and back up over FADE after it ends.
    """
    depth = np.zeros(b1 - b0, dtype=np.float32)
    for e in events:
        lo, hi = max(b0, e.start - FADE), min(b1, e.end + FADE)
        if lo >= hi:
            continue
        # A trapezoid: 0 before start-FADE, 1 over [start, end), 0 after end+FADE. Counted
        # from the event's start in integers: float32 positions stop being whole past 2^24
        # samples (12.7 minutes), which turned the fades into steps.
        t = np.arange(lo - e.start, hi - e.start)
        ramp = (np.minimum(t + FADE, e.length + FADE - t) / FADE).astype(np.float32)
        window = depth[lo - b0 : hi - b0]
        np.maximum(window, np.clip(ramp, 0.0, 1.0), out=window)
    return np.exp(depth * np.float32(DUCK_DB * np.log(10) / 20))
