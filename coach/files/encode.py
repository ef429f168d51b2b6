"""Encoding an exported guide in this process, with PyAV (FFmpeg's libraries in its wheels).

Samples go to the encoder as 16-bit mono frames a block at a time, as they went down ffmpeg's
stdin before, so memory stays flat at any length; PyAV converts them to each encoder's sample
format (and, for Opus, its rate) with libswresample. The same encoders with the same settings
as the ffmpeg command used: an MP3 of a spoken paragraph decoded to the same samples from both.
PyAV 18.1 (Python 3.11) carries a LAME that took 3.3 times the CPU of Debian's ffmpeg program
on the same speech (2.36 s against 0.71 s for 6.5 minutes); PyAV 19.0's took the same (0.69 s).

Ogg is Opus, not Vorbis: the FFmpeg in PyAV's wheels has no libvorbis, and FFmpeg's own Vorbis
encoder refuses to run unless told experimental code is fine. Opus codes at 48 kHz: the guide
is resampled on the way in, sample 0 staying at time 0, so an onset at sample n of the
timeline lands at n * 48000 / 22050 in the file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from coach.errors import CoachError
from coach.sound.render import CEILING_DBTP, to_pcm16

# Lossy codecs overshoot the true peak of their input (measured at -16 LUFS: AAC 1 dB, MP3
# less), so their clips are limited lower to keep the file under -1 dBTP without a second
# encode (coach.files.export checks the encoded file and encodes again where one does).
LOSSY_CEILING_DBTP = -2.5


@dataclass(frozen=True)
class Format:
    muxer: str  # FFmpeg's name for the container; "" for WAV (written by `wave`)
    codec: str = ""
    options: tuple[tuple[str, str], ...] = ()  # the encoder's options, as ffmpeg's -OPTION
    # How chapters are written: by the muxer (MP4), or by coach.files.chapters afterwards as
    # ID3 CHAP/CTOC frames (MP3) or CHAPTERnnn comments (FLAC, Ogg).
    chapters: Literal["muxer", "id3", "vorbis", "none"] = "none"
    rate: int | None = None  # the codec's own sample rate, where it cannot take the guide's
    ceiling_dbtp: float = CEILING_DBTP  # for the clips, see LOSSY_CEILING_DBTP
    lossy: bool = False  # true peaks are checked after encoding


LOSSY = {"ceiling_dbtp": LOSSY_CEILING_DBTP, "lossy": True}
# FFmpeg's AAC encoder, left to itself, replaces noise-like bands with a note to make noise
# (perceptual noise substitution): each decoder makes its own, so the peaks depend on the
# player, and they are erratic: scaling a guide over a click track by 0.9999 moved its peak
# from -1.7 to -1.1 to -3.6 dBTP (-3.5 to -3.7 without it, at the same size). The ipod muxer
# writes the MPEG-4 audio files Apple players expect (.m4a/.m4b).
AAC = Format("ipod", "aac", (("b", "64k"), ("aac_pns", "0")), "muxer", **LOSSY)

FORMATS = {
    "wav": Format(""),
    "flac": Format("flac", "flac", chapters="vorbis"),
    # LAME's VBR quality 2 (`-q:a 2`: global_quality is in lambda units, 118 a step) keeps the
    # loudness (constant 64 kbit/s came out 0.5 LU quiet) and is smaller for a voice at
    # 22.05 kHz: about 38 kbit/s. Set as options: PyAV's own qscale attribute left LAME at
    # 24 kbit/s on speech that `-q:a 2` codes at 66.
    "mp3": Format(
        "mp3",
        "libmp3lame",
        (("global_quality", "236"), ("flags", "+qscale"), ("compression_level", "7")),
        "id3",
        **LOSSY,
    ),
    # 64 kbit/s: at 48 a guide at -16 LUFS came out 0.3 LU quiet (the limit of the loudness
    # guarantee); Opus's own guidance for fullband mono speech is 32-64.
    "ogg": Format("ogg", "libopus", (("b", "64k"),), "vorbis", rate=48000, **LOSSY),
    "m4a": AAC,
    "m4b": AAC,
}


class EncodeError(CoachError):
    """The encoder or muxer failed for a reason other than the disk (an OSError)."""


def encode(
    blocks: Iterator,
    path: Path,
    spec: Format,
    rate: int,
    tags: Mapping[str, str],
    chapters: Sequence[dict] = (),
) -> None:
    """Encode float `blocks` (mono at `rate`) into `path` as `spec` says, with `tags` and, where
    the muxer writes them, `chapters` (PyAV's chapter dicts)."""
    import av

    with contextlib.closing(blocks):
        try:
            with av.open(str(path), "w", format=spec.muxer) as container:
                stream = container.add_stream(
                    spec.codec, rate=spec.rate or rate, options=dict(spec.options)
                )
                stream.layout = "mono"
                container.metadata.update(tags)
                if spec.chapters == "muxer":
                    container.set_chapters(list(chapters))
                at = 0
                for block in blocks:
                    pcm = np.frombuffer(to_pcm16(block), dtype="<i2").reshape(1, -1)
                    frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
                    frame.sample_rate, frame.time_base, frame.pts = rate, Fraction(1, rate), at
                    at += len(block)
                    container.mux(stream.encode(frame))
                container.mux(stream.encode(None))
        except av.FFmpegError as error:
            if isinstance(error, OSError) and error.errno:
                raise  # the disk: the caller words it with the file's name
            raise EncodeError(f"could not encode {path.name}: {error}") from None
