"""`coach export`: a timeline rendered to one audio file with chapters, plus a transcript.

PCM streams block by block from the renderer into the `wave` module (WAV) or into an encoder
in this process (coach.files.encode: everything else), so memory stays constant at any length.
Lossy files are decoded again to check their true peaks (and encoded again where a codec
overshoots). Every file is written atomically (coach.files.atomic).
"""

from __future__ import annotations

import contextlib
import os
import wave
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

import mutagen
import numpy as np

from coach.errors import CoachError, OutputError, PeakTooHigh, UnknownFormat
from coach.files import chapters
from coach.files.atomic import partial, remove_stale_partials, stop_between_blocks
from coach.files.encode import FORMATS, Format, encode
from coach.files.preview import to_srt, to_vtt
from coach.sound.decode import DecodeError, decoded
from coach.sound.music import MUSIC_OFFSET_LU, Music, trapezoids
from coach.sound.render import DEFAULT_LOUDNESS, ClipSource, render, to_pcm16
from coach.timeline import Timeline

Transcript = Literal["vtt", "srt", "none"]

# One second per block: large enough that per-block Python work is negligible over hours.
EXPORT_BLOCK = 22050

# How far a lossy codec overshoots depends on the signal in ways no margin set beforehand
# covers: at -16 LUFS, AAC put a guide over a square-wave bed 3.3 dB over its -3.6 dBTP input
# (-0.3), and over white noise still reached -1.0 with noise substitution off. So a lossy file
# is decoded after encoding and its true peak measured; wherever it is over PEAK_CHECK_DBTP,
# the guide is encoded again with the mix dipped there. FFmpeg's ebur128 meter (which resamples to
# 192 kHz) read up to 0.2 dB over this one (4x) on encoded guides, and shows tenths: hence
# -1.3 for a file it shows at or under -1.0.
PEAK_CHECK_DBTP = -1.3
# A dip holds over 1024 samples either side of the overshoot (an AAC frame at 22.05 kHz; its
# window spans two) and ramps over as many: a brief level change, not a limiter's pumping.
# It goes 0.5 dB deeper than the overshoot, as the codec's own noise does not shrink with it.
DIP_HOLD = 1024
DIP_RAMP = 1024
DIP_EXTRA_DB = 0.5
# Encodes after the first, at most. Each dip can move the encoder's bits, so AAC may overshoot
# somewhere new: a mix pushed 2 dB over the usual took up to four.
PEAK_PASSES = 6

# The loudest speech every format holds within 0.3 LU with true peaks at or under -1 dBTP after
# encoding. Louder, the limiter works so hard that the codecs overshoot: at -14 Vorbis peaked
# at -0.7 dBTP and AAC came out 0.5 LU quiet; at -10 AAC peaked at +0.4 dBTP.
MAX_LOUDNESS = -16.0

# WAV sizes are 32-bit: the RIFF chunk (36 header bytes + the samples) must fit 4 GiB, about 27
# hours of 16-bit mono at 22.05 kHz.
WAV_MAX_SAMPLES = (2**32 - 1 - 36) // 2


def export_format(out: Path, fmt: str | None) -> str:
    """The format to write: `fmt` if given, else the output file's extension."""
    name = (fmt or out.suffix.lstrip(".")).lower()
    if name not in FORMATS:
        raise UnknownFormat(fmt, out.suffix, tuple(FORMATS))
    return name


def transcript_path(out: Path, transcript: Transcript) -> Path | None:
    """Where the transcript goes: beside the audio, same name, `.vtt`/`.srt` suffix."""
    return None if transcript == "none" else out.with_suffix("." + transcript)


def check_output(
    out: Path, fmt: str | None, transcript: Transcript = "vtt", music: Path | None = None
) -> str:
    """The format to write `out` in, after checking it can be written: CoachError if not.

    Cheap, so the CLI calls it before synthesizing anything.
    """
    if out.is_dir():  # before the format: "." has no extension, but that is not the point
        raise OutputError(f"{out} is a folder", "file")
    name = export_format(out, fmt)
    folder = out.parent
    if not folder.is_dir():
        raise CoachError(f"output folder {folder} does not exist: create it or choose another")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable", "folder")
    if transcript_path(out, transcript) == out:
        raise CoachError(f"{out} would be overwritten by its own transcript: name it .{name}")
    return name


def check_loudness(loudness: float) -> None:
    """CoachError if `loudness` (LUFS) is louder than every format can hold."""
    if loudness > MAX_LOUDNESS:
        raise CoachError(
            f"a loudness of {loudness:g} LUFS cannot keep true peaks at or under -1 dBTP in "
            f"every format: {MAX_LOUDNESS:g} LUFS is the loudest that does"
        )


def export(
    timeline: Timeline,
    sounds: ClipSource,
    out: Path,
    fmt: str | None = None,
    transcript: Transcript = "vtt",
    loudness: float = DEFAULT_LOUDNESS,
    music: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[Path]:
    """Render `timeline` into `out` (and its transcript); return the paths written.

    `loudness` is the level the speech was normalized to (LUFS); the music, if any, runs
    MUSIC_OFFSET_LU under it. `progress(n)` is called with the samples written after each block.
    """
    out = Path(out)
    check_loudness(loudness)
    name = check_output(out, fmt, transcript, music)
    spec = FORMATS[name]
    if name == "wav" and timeline.duration > WAV_MAX_SAMPLES:
        hours = timeline.duration / timeline.sample_rate / 3600
        most = WAV_MAX_SAMPLES // timeline.sample_rate // 3600
        raise CoachError(
            f"{out}: a WAV file holds at most {most} hours and this guide lasts {hours:.1f}: "
            "export it as FLAC, MP3, OGG or M4A instead"
        )
    text_out = transcript_path(out, transcript)
    targets = [out] + ([text_out] if text_out else [])
    for target in targets:
        remove_stale_partials(target)
    existed = out.exists()

    try:
        _write_all(timeline, sounds, spec, targets, transcript, loudness, music, progress)
    except (OSError, mutagen.MutagenError) as error:  # PyAV's disk errors are OSErrors too
        # mutagen wraps the OSError (e.g. a disk that fills while it writes the chapters).
        cause = error if isinstance(error, OSError) else error.__context__
        reason = getattr(cause, "strerror", None) or str(error)
        kept = f" ({out.name} is as it was)" if existed else ""
        raise OutputError(f"could not write {out}: {reason}{kept}", "place") from None
    return targets


def _write_all(timeline, sounds, spec, targets, transcript, loudness, music, progress) -> None:
    with stop_between_blocks() as check, contextlib.ExitStack() as stack:
        partials = [stack.enter_context(partial(target)) for target in targets]

        def mix(dips: Dips, report: Callable[[int], None] | None = None) -> Iterator:
            """The guide's samples, with the music (opened afresh: one pass each) and `dips`."""
            level = loudness + MUSIC_OFFSET_LU
            with Music(music, level) if music else contextlib.nullcontext() as bed:
                blocks = render(timeline, sounds, block=EXPORT_BLOCK, music=bed)
                yield from _counted(_dipped(blocks, dips), report, check)

        if spec.muxer:
            _encode(timeline, mix, partials[0], spec, progress, check)
        else:
            _write_wav(mix([], progress), partials[0], timeline.sample_rate)
        if len(targets) > 1:
            text = to_vtt(timeline) if transcript == "vtt" else to_srt(timeline)
            partials[1].write_text(text, encoding="utf-8")
        # The audio goes last: a transcript without its audio is the smaller surprise.
        for written, target in reversed(list(zip(partials, targets, strict=True))):
            os.replace(written, target)


# Dips in the mix: (first sample, last sample, depth in dB), each held a DIP_HOLD either side.
Dips = Sequence[tuple[int, int, float]]


def _dipped(blocks: Iterator[np.ndarray], dips: Dips) -> Iterator[np.ndarray]:
    """`blocks` (consecutive from sample 0), lowered by `dips`; gain only, so no sample moves."""
    at = 0
    for block in blocks:
        depth = _depth_db(dips, at, at + len(block))
        at += len(block)
        yield block if depth is None else block * np.float32(10) ** (depth / np.float32(-20))


def _depth_db(dips: Dips, b0: int, b1: int) -> np.ndarray | None:
    """How far `dips` lower samples [b0, b1), in dB; None where none reaches."""
    reach = DIP_HOLD + DIP_RAMP
    near = [d for d in dips if d[0] - reach < b1 and d[1] + reach >= b0]
    if not near:
        return None
    spans = [(first - DIP_HOLD, last + 1 + DIP_HOLD) for first, last, _ in near]
    return trapezoids(spans, b0, b1, DIP_RAMP, [depth for _, _, depth in near])


def _deepened(dips: Dips, overshoots: Dips) -> list[tuple[int, int, float]]:
    """`dips` and one more for each overshoot, deeper than the dip already there by the
    overshoot and DIP_EXTRA_DB."""
    added = []
    for first, last, over in overshoots:
        there = _depth_db(dips, first, last + 1)
        depth = (0.0 if there is None else float(there.max())) + over + DIP_EXTRA_DB
        added.append((first, last, depth))
    return sorted([*dips, *added])


def _overshoots(
    path: Path, rate: int, duration: int, check: Callable[[], None]
) -> list[tuple[int, int, float]]:
    """Where the encoded file `path` has true peaks over PEAK_CHECK_DBTP: (first sample, last
    sample, dB over), overshoots closer than two holds joined. Decoded (at the guide's rate)
    and measured a block at a time, so memory stays bounded at any length."""
    from coach.sound.loudness import peaks_over  # here: exports to WAV and FLAC never need it

    context = 16  # samples the interpolator reaches either side (13 taps a phase)
    ceiling = 10 ** (PEAK_CHECK_DBTP / 20)
    found: list[list] = []
    # `held` starts at sample `at`; its first `done` samples are measured already.
    held, at, done = np.zeros(0, dtype=np.float32), 0, 0
    try:
        for block in _and_end(decoded(path, rate)):
            check()
            x = np.concatenate((held, block / np.float32(32768)))
            # Near the end of what was read, the interpolator sees zeros where more will come:
            # only the file's true end is measured there.
            end = len(x) - context if len(block) else len(x)
            hot, peaks = peaks_over(x, ceiling)
            keep = (hot >= done) & (hot < end)
            hot, over = hot[keep], 20 * np.log10(peaks[keep] / ceiling)
            runs = np.split(np.arange(len(hot)), np.flatnonzero(np.diff(hot) > 2 * DIP_HOLD) + 1)
            for run in runs:
                if not len(run):
                    continue
                # AAC pads its last frame: an overshoot there is dipped at the guide's end.
                first, last = (min(at + int(hot[i]), duration - 1) for i in (run[0], run[-1]))
                worst = float(over[run].max())
                if found and first - found[-1][1] <= 2 * DIP_HOLD:
                    found[-1][1:] = [last, max(found[-1][2], worst)]
                else:
                    found.append([first, last, worst])
            cut = max(0, end - context)  # what the next samples' interpolation reaches back to
            held, at, done = x[cut:], at + cut, max(done, end) - cut
    except DecodeError as error:
        raise CoachError(f"could not read back {path.name} to check its peaks: {error}") from None
    return [(int(first), int(last), over) for first, last, over in found]


def _and_end(blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    """`blocks`, then an empty one: where the stream ends."""
    yield from blocks
    yield np.zeros(0, dtype=np.int16)


def _counted(
    blocks: Iterator, progress: Callable[[int], None] | None, check: Callable[[], None]
) -> Iterator:
    """`blocks`, reporting each to `progress`, and stopping where `check()` raises."""
    for block in blocks:
        check()
        yield block
        if progress is not None:
            progress(len(block))


def _write_wav(blocks: Iterator, path: Path, rate: int) -> None:
    # Opened here, not by `wave`: a failed open inside `wave` leaves a half-built writer behind.
    with open(path, "wb") as f, wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        for block in blocks:
            w.writeframes(to_pcm16(block))


def _encode(
    timeline: Timeline,
    mix: Callable[..., Iterator],
    path: Path,
    spec: Format,
    progress: Callable[[int], None] | None,
    check: Callable[[], None],
) -> None:
    """Encode `mix(dips, progress)` into `path`; a lossy file is encoded again, with dips, until
    its true peaks keep under PEAK_CHECK_DBTP (progress is shown for the first encode only)."""
    rate = timeline.sample_rate
    tags, marks = chapters.guide_tags(timeline), chapters.mp4_chapters(timeline)
    dips: Dips = []
    encode(mix(dips, progress), path, spec, rate, tags, marks)
    for passes in range(PEAK_PASSES + 1):
        overshoots = _overshoots(path, rate, timeline.duration, check) if spec.lossy else []
        if not overshoots:
            break
        if passes == PEAK_PASSES:
            raise PeakTooHigh(path.name)
        dips = _deepened(dips, overshoots)
        encode(mix(dips), path, spec, rate, tags, marks)
    if spec.chapters == "id3":
        chapters.add_id3_chapters(timeline, path)
    elif spec.chapters == "vorbis":
        chapters.add_vorbis_chapters(timeline, path)
