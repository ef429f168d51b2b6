"""Any audio file as mono 16-bit samples at one rate, decoded in this process by PyAV.

PyAV's wheels carry FFmpeg's libraries, so a user's music and cue files in any format FFmpeg
reads (MP3, Ogg, Opus, FLAC, M4A, WAV...) decode without an ffmpeg program. Mixing down and
resampling go through libswresample, as `ffmpeg -ac 1 -ar RATE` does: the same windowed-sinc
resampler (no aliasing whistle from a 44.1 or 48 kHz file's highs) and the same downmix
matrix. Decoding streams block by block, so memory stays bounded at any length.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from coach.errors import CoachError


class DecodeError(CoachError):
    """The file holds no audio that FFmpeg's decoders read, or broke off while decoding."""


# Decoded frames are joined into blocks of at least this many samples: an MP3 at 22.05 kHz
# decodes in frames of 576, and measuring its peaks a frame at a time took 29 s of a 105 s
# export of 27 minutes (per-call overhead); in blocks of 32768 it takes a fraction of that.
BLOCK = 1 << 15


def decoded(path: Path, rate: int, limit: int | None = None) -> Iterator[np.ndarray]:
    """`path`'s first audio stream as int16 mono blocks at `rate`, in order (each BLOCK samples
    or more but the last); at most `limit` samples when given. DecodeError if it cannot be
    read as audio."""
    held: list[np.ndarray] = []
    have = 0
    for frame in _decoded_frames(path, rate, limit):
        held.append(frame)
        have += len(frame)
        if have >= BLOCK:
            yield np.concatenate(held)
            held, have = [], 0
    if held:
        yield np.concatenate(held)


def _decoded_frames(path: Path, rate: int, limit: int | None) -> Iterator[np.ndarray]:
    """What `decoded` gives, a decoder frame at a time."""
    import av

    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise DecodeError(f"{path} is not audio ({_reason(error)})") from None
    with container:
        if not container.streams.audio:
            raise DecodeError(f"{path} is not audio (it holds no audio stream)")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        left = limit
        try:
            for frame in _frames(container, stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1)
                    if left is not None:
                        block, left = block[:left], left - len(block[:left])
                    yield block
                    if left == 0:
                        return
        except av.FFmpegError as error:
            raise DecodeError(f"{path} stopped decoding ({_reason(error)})") from None


def _frames(container, stream) -> Iterator:
    """The stream's decoded frames, then None: the resampler's cue to give what it holds."""
    yield from container.decode(stream)
    yield None


def decode_all(path: Path, rate: int) -> np.ndarray:
    """The whole of `path` as one int16 mono array at `rate` (short files: cue sounds)."""
    blocks = list(decoded(path, rate))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.int16)


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error).splitlines()[0]
