"""Background music under a guide: looped, quiet, and ducked under every spoken word and cue.

The music is decoded by ffmpeg and read one block at a time. A file of up to KEEP_SECONDS is
kept in memory after its first pass (as 16-bit samples: 13 MB at most); a longer one is decoded
again for every pass. Either way memory stays bounded however long the guide is. Each loop seam
is an equal-power crossfade from the file's end into its start, so a file that does not loop
cleanly does not click.

Ducking follows the timeline's events, whose times are known to the sample, instead of
detecting speech in the signal: the music is already down when the first syllable starts and
comes back only after the last one, and stays down through short pauses. The bed fades in at
the start and out under the end of the guide.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from coach.errors import CoachError, ToolMissing
from coach.sound.cues import decode_command
from coach.timeline import SAMPLE_RATE, Event

# The music bed sits well under the voice, and drops a further 10 dB while anything sounds.
MUSIC_OFFSET_LU = -14.0
DUCK_DB = -10.0
# 150 ms fades: quick enough to clear the way for a word, slow enough not to pump audibly.
FADE = SAMPLE_RATE * 150 // 1000
# The music stays down through gaps shorter than 1.5 s: without a hold, every pause between
# sentences and after each chime let the bed swell 8-10 dB and drop again (38 times in a
# 5-minute guide).
HOLD = SAMPLE_RATE * 3 // 2
# 100 ms equal-power crossfade at each loop seam: a hard cut clicked (high-frequency energy
# 10-20 dB over the music's own) on files that do not loop cleanly.
SEAM = SAMPLE_RATE // 10
# The bed fades in over the guide's first second and out over its last four.
FADE_IN = SAMPLE_RATE
FADE_OUT = 4 * SAMPLE_RATE
# Files up to 5 minutes are decoded once and kept; longer ones are decoded once a pass.
KEEP_SECONDS = 300
# Decoded samples are read from ffmpeg this many at a time.
CHUNK = 1 << 15
# Loudness is measured on at most the first 10 minutes: a long file costs no more than that.
MEASURE_SECONDS = 600
# Quiet (or silent) music is not pushed up by more than this: it would only raise its noise.
MAX_GAIN_DB = 20.0
# Nor are its peaks, so that ducked under speech they take at most 1.6 dB of the voice's room.
BED_PEAK_DBTP = -10.0


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise ToolMissing("ffmpeg", "music")
    return path


def _decode_cmd(path: Path, loop: bool) -> list[str]:
    """ffmpeg decoding `path` to raw mono PCM at SAMPLE_RATE on stdout: all of it, once (to
    loop it), or (to measure it) its first MEASURE_SECONDS."""
    _ffmpeg()  # a clear error when it is missing
    before_input = () if loop else ("-t", str(MEASURE_SECONDS))
    return decode_command(path, SAMPLE_RATE, before_input)


def measure_loudness(path: Path) -> tuple[float, float]:
    """The music's integrated loudness (LUFS) and true peak (dBTP); CoachError if it holds no
    readable audio.

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
    cmd += ["-ac", "1", "-i", "pipe:0", "-af", "ebur128=peak=true", "-f", "null", "-"]
    done = subprocess.run(cmd, stdin=decoder.stdout, capture_output=True, text=True)
    decoder.stdout.close()
    found = re.findall(r"I:\s+(-?[\d.]+|-inf) LUFS", done.stderr)
    if decoder.wait() != 0 or done.returncode != 0 or not found:
        raise CoachError(f"music file {path} is not audio that ffmpeg can read: choose another")
    peak = re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", done.stderr)[-1]
    return max(float(found[-1]), -70.0), max(float(peak), -70.0)  # "-inf" for silence


class Music:
    """A looping music stream at a fixed level: `read(n)` gives the next n samples as float32.

    Use it as a context manager so the ffmpeg process is always stopped.
    """

    def __init__(self, path: Path, level_lufs: float):
        self.path = path
        gain_db, self.peak_dbtp = bed_level(path, level_lufs)
        self.gain = np.float32(10 ** (gain_db / 20) / 32768.0)
        self._proc: subprocess.Popen | None = None
        self._stream = self._looped()
        self._ahead = np.zeros(0, dtype=np.float32)  # decoded, not yet read

    def read(self, n: int) -> np.ndarray:
        parts = [self._ahead]
        have = len(self._ahead)
        while have < n:
            parts.append(next(self._stream))
            have += len(parts[-1])
        ahead = np.concatenate(parts)
        self._ahead = ahead[n:].copy()
        return ahead[:n]

    def _looped(self) -> Iterator[np.ndarray]:
        """The music as float32 chunks, pass after pass, each seam crossfaded; endless."""
        kept: list[np.ndarray] | None = []  # the first pass, while it is short enough to keep
        stored: np.ndarray | None = None
        first, length = True, 0  # in the first pass; its length so far
        head: np.ndarray | None = None  # the file's first SEAM samples, faded in at each seam
        held = np.zeros(0, dtype=np.float32)  # the last SEAM samples seen: maybe the pass's end
        skip = 0  # after the first pass, its head was already heard in the seam
        while True:
            chunks = self._decode() if stored is None else _slices(stored)
            for chunk in chunks:
                if first:
                    length += len(chunk)
                if kept is not None:
                    kept.append(chunk)
                    if length > KEEP_SECONDS * SAMPLE_RATE:
                        kept = None
                dropped = min(skip, len(chunk))
                skip -= dropped
                held = np.concatenate((held, chunk[dropped:] * self.gain))
                if head is None and len(held) >= SEAM:
                    head = held[:SEAM].copy()
                if len(held) > SEAM:
                    yield held[:-SEAM]
                    held = held[-SEAM:]
            if length < 2 * SEAM:  # the seam would overlap the head it fades into
                raise CoachError(f"music file {self.path} is too short to loop: choose another")
            if kept is not None:
                stored, kept = np.concatenate(kept), None
            yield _crossfade(held, head)
            held, skip, first = held[:0], SEAM, False

    def _decode(self) -> Iterator[np.ndarray]:
        """One pass over the file, as int16 chunks."""
        self._proc = subprocess.Popen(
            _decode_cmd(self.path, loop=True), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        while data := self._proc.stdout.read(2 * CHUNK):
            yield np.frombuffer(data, dtype="<i2")
        if self._close_process() != 0:
            raise CoachError(f"music file {self.path} stopped decoding: choose another file")

    def _close_process(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        return proc.wait()

    def close(self) -> None:
        self._stream.close()
        self._close_process()

    def __enter__(self) -> Music:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@functools.cache
def _measured(path: Path, mtime_ns: int, size: int) -> tuple[float, float]:
    return measure_loudness(path)


def bed_level(path: Path, level_lufs: float) -> tuple[float, float]:
    """(gain in dB, true peak in dBTP after that gain) that bring the music in `path` to
    `level_lufs`, its peaks kept under BED_PEAK_DBTP. Measured once per file and version."""
    found = path.stat() if path.is_file() else None
    key = (found.st_mtime_ns, found.st_size) if found else (0, 0)
    loudness, peak = _measured(path, *key) if found else measure_loudness(path)
    gain_db = min(level_lufs - loudness, MAX_GAIN_DB, BED_PEAK_DBTP - peak)
    return gain_db, peak + gain_db


def speech_ceiling(ceiling_dbtp: float, bed_peak_dbtp: float) -> float:
    """The clips' true-peak ceiling that keeps speech plus the music bed under `ceiling_dbtp`.

    Speech sounds only where the bed is ducked; a seam's equal-power crossfade can lift the
    bed's peak by up to 3 dB. A peaky music file (crest 16 dB) took a guide at -16 LUFS to
    -0.9 dBTP without this.
    """
    bed = 10 ** ((bed_peak_dbtp + DUCK_DB + 3.0) / 20)
    return 20 * math.log10(10 ** (ceiling_dbtp / 20) - bed)


def _slices(samples: np.ndarray) -> Iterator[np.ndarray]:
    for at in range(0, len(samples), CHUNK):
        yield samples[at : at + CHUNK]


def _crossfade(tail: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Equal-power: cos/sin gains keep the level of unrelated material steady across the seam."""
    angle = np.pi / 2 * (np.arange(len(tail)) + 0.5) / len(tail)
    return (tail * np.cos(angle) + head * np.sin(angle)).astype(np.float32)


def duck_spans(events: Iterable[Event]) -> tuple[tuple[int, int], ...]:
    """Where the music is down: the events' spans, joined across gaps shorter than HOLD."""
    spans: list[list[int]] = []
    for e in sorted(events, key=lambda e: e.start):
        if spans and e.start - spans[-1][1] < HOLD:
            spans[-1][1] = max(spans[-1][1], e.end)
        else:
            spans.append([e.start, e.end])
    return tuple((a, b) for a, b in spans)


def bed_gain(spans: Sequence[tuple[int, int]], b0: int, b1: int, duration: int) -> np.ndarray:
    """The music's gain over samples [b0, b1) of a guide `duration` samples long.

    1 in the clear and DUCK_DB under `spans` (the caller passes those near the block), ramping
    down over FADE samples before each span and back up over FADE after it; and under that a
    fade in over the first FADE_IN samples and out over the last FADE_OUT, reaching silence on
    the guide's last sample.
    """
    depth = trapezoids(spans, b0, b1, FADE)
    gain = np.exp(depth * np.float32(DUCK_DB * np.log(10) / 20))
    if b0 < FADE_IN:
        gain[: FADE_IN - b0] *= _rise(np.arange(b0, min(b1, FADE_IN)), FADE_IN)
    if b1 > duration - FADE_OUT:
        lo = max(b0, duration - FADE_OUT)
        gain[lo - b0 :] *= _rise(np.arange(duration - lo - 1, duration - b1 - 1, -1), FADE_OUT)
    return gain


def trapezoids(
    spans: Sequence[tuple[int, int]],
    b0: int,
    b1: int,
    ramp: int,
    heights: Sequence[float] | None = None,
) -> np.ndarray:
    """Over samples [b0, b1), the largest of one trapezoid a span: `heights[i]` (else 1) over
    span i's [start, end), falling linearly to 0 over `ramp` samples on either side."""
    depth = np.zeros(b1 - b0, dtype=np.float32)
    for i, (start, end) in enumerate(spans):
        lo, hi = max(b0, start - ramp), min(b1, end + ramp)
        if lo >= hi:
            continue
        # Counted from the span's start in integers: float32 positions stop being whole past
        # 2^24 samples (12.7 minutes), which turned the fades into steps.
        t = np.arange(lo - start, hi - start)
        shape = np.clip(
            (np.minimum(t + ramp, end - start + ramp - t) / ramp).astype(np.float32), 0.0, 1.0
        )
        if heights is not None:
            shape *= np.float32(heights[i])
        window = depth[lo - b0 : hi - b0]
        np.maximum(window, shape, out=window)
    return depth


def _rise(t: np.ndarray, length: int) -> np.ndarray:
    """A raised-cosine ramp from 0 to 1 over `length` samples, at positions `t` (0-based)."""
    return (np.sin(np.pi / 2 * np.clip(t, 0, length) / length) ** 2).astype(np.float32)
