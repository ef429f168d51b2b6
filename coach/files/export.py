"""`coach export`: a timeline rendered to one audio file with chapters, plus a transcript.

PCM streams block by block from the renderer into the `wave` module (WAV) or into ffmpeg's
stdin (everything else), so memory stays constant at any length. The target is written
atomically: everything goes to a hidden `.NAME.partial-PID` file in the same folder and
replaces the target with `os.replace` only once it is complete. An export that fails, is
interrupted or is terminated removes its partial files; one that is SIGKILLed leaves them
behind, and the next export into that folder removes them once their PID is dead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mutagen
import numpy as np
from mutagen.id3 import CHAP, COMM, CTOC, ID3, TIT2, CTOCFlags

from coach.errors import (
    CoachError,
    OutputError,
    PeakTooHigh,
    Terminated,
    ToolMissing,
    UnknownFormat,
)
from coach.files.preview import milliseconds, subtitle_time, to_srt, to_vtt
from coach.sound.cues import decode_command
from coach.sound.music import MUSIC_OFFSET_LU, Music, trapezoids
from coach.sound.render import CEILING_DBTP, DEFAULT_LOUDNESS, ClipSource, render, to_pcm16
from coach.timeline import SAMPLE_RATE, Timeline

Transcript = Literal["vtt", "srt", "none"]

# One second per block: large enough that per-block Python work is negligible over hours.
EXPORT_BLOCK = SAMPLE_RATE

# Lossy codecs overshoot the true peak of their input (measured at -16 LUFS: AAC 1 dB, MP3
# less, Vorbis q3 up to 2 dB and erratic, q5 under 0.8 dB), so their clips are limited lower
# to keep the file under -1 dBTP without a second encode (see PEAK_CHECK_DBTP).
LOSSY_CEILING_DBTP = -2.5

# How far a lossy codec overshoots depends on the signal in ways no margin set beforehand
# covers: at -16 LUFS, AAC put a guide over a square-wave bed 3.3 dB over its -3.6 dBTP input
# (-0.3), and over white noise still reached -1.0 with noise substitution off. So a lossy file
# is decoded after encoding and its true peak measured; wherever it is over PEAK_CHECK_DBTP,
# the guide is encoded again with the mix dipped there. ffmpeg's meter (which resamples to
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

# A CTOC frame counts its entries in one byte: more chapters go into nested tables of contents.
TOC_ENTRIES = 255
# WAV sizes are 32-bit: the RIFF chunk (36 header bytes + the samples) must fit 4 GiB, about 27
# hours of 16-bit mono at 22.05 kHz.
WAV_MAX_SAMPLES = (2**32 - 1 - 36) // 2


@dataclass(frozen=True)
class Format:
    codec: tuple[str, ...]  # ffmpeg output options; empty for WAV (written by `wave`)
    # How chapters are written: ffmpeg from the FFMETADATA file (MP4), mutagen afterwards as
    # ID3 CHAP/CTOC frames (MP3) or CHAPTERnnn comments (FLAC, Ogg: ffmpeg drops them there).
    chapters: Literal["ffmetadata", "id3", "vorbis", "none"]
    ceiling_dbtp: float = CEILING_DBTP  # for the clips, see LOSSY_CEILING_DBTP
    lossy: bool = False  # true peaks are checked after encoding (see PEAK_CHECK_DBTP)


LOSSY = {"ceiling_dbtp": LOSSY_CEILING_DBTP, "lossy": True}
# ffmpeg's AAC encoder, left to itself, replaces noise-like bands with a note to make noise
# (perceptual noise substitution): each decoder makes its own, so the peaks depend on the
# player, and they are erratic: scaling a guide over a click track by 0.9999 moved its peak
# from -1.7 to -1.1 to -3.6 dBTP (-3.5 to -3.7 without it, at the same size).
AAC = ("-c:a", "aac", "-b:a", "64k", "-aac_pns", "0", "-f", "ipod")

FORMATS = {
    "wav": Format((), "none"),
    "flac": Format(("-c:a", "flac", "-f", "flac"), "vorbis"),
    # LAME's VBR quality 2 keeps the loudness (constant 64 kbit/s came out 0.5 LU quiet) and
    # is smaller for a voice at 22.05 kHz: about 38 kbit/s.
    "mp3": Format(
        ("-c:a", "libmp3lame", "-q:a", "2", "-compression_level", "7", "-f", "mp3"),
        "id3",
        **LOSSY,
    ),
    "ogg": Format(("-c:a", "libvorbis", "-q:a", "5", "-f", "ogg"), "vorbis", **LOSSY),
    # ffmpeg's ipod muxer writes the MPEG-4 audio files Apple players expect (.m4a/.m4b).
    "m4a": Format(AAC, "ffmetadata", **LOSSY),
    "m4b": Format(AAC, "ffmetadata", **LOSSY),
}


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
    if (FORMATS[name].codec or music is not None) and shutil.which("ffmpeg") is None:
        raise ToolMissing("ffmpeg", f"{name} export")
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
        _remove_stale_partials(target)
    existed = out.exists()

    try:
        _write_all(timeline, sounds, spec, targets, transcript, loudness, music, progress)
    except (OSError, mutagen.MutagenError) as error:
        # mutagen wraps the OSError (e.g. a disk that fills while it writes the chapters).
        cause = error if isinstance(error, OSError) else error.__context__
        reason = getattr(cause, "strerror", None) or str(error)
        kept = f" ({out.name} is as it was)" if existed else ""
        raise OutputError(f"could not write {out}: {reason}{kept}", "place") from None
    return targets


def _write_all(timeline, sounds, spec, targets, transcript, loudness, music, progress) -> None:
    with _terminate_as_exception(), contextlib.ExitStack() as stack:
        partials = [stack.enter_context(_partial(target)) for target in targets]

        def mix(dips: Dips, report: Callable[[int], None] | None = None) -> Iterator:
            """The guide's samples, with the music (opened afresh: one pass each) and `dips`."""
            level = loudness + MUSIC_OFFSET_LU
            with Music(music, level) if music else contextlib.nullcontext() as bed:
                blocks = render(timeline, sounds, block=EXPORT_BLOCK, music=bed)
                yield from _counted(_dipped(blocks, dips), report)

        if spec.codec:
            _encode(timeline, mix, partials[0], spec, progress)
        else:
            _write_wav(mix([], progress), partials[0], timeline.sample_rate)
        if len(targets) > 1:
            text = to_vtt(timeline) if transcript == "vtt" else to_srt(timeline)
            partials[1].write_text(text, encoding="utf-8")
        # The audio goes last: a transcript without its audio is the smaller surprise.
        for partial, target in reversed(list(zip(partials, targets, strict=True))):
            os.replace(partial, target)


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


def _overshoots(path: Path, rate: int, duration: int) -> list[tuple[int, int, float]]:
    """Where the encoded file `path` has true peaks over PEAK_CHECK_DBTP: (first sample, last
    sample, dB over), overshoots closer than two holds joined. Decoded and measured a block at
    a time, so memory stays bounded at any length."""
    from coach.sound.loudness import peaks_over  # here: exports to WAV and FLAC never need it

    context = 16  # samples the interpolator reaches either side (13 taps a phase)
    ceiling = 10 ** (PEAK_CHECK_DBTP / 20)
    found: list[list] = []
    proc = subprocess.Popen(
        decode_command(path, rate), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        # `held` starts at sample `at`; its first `done` samples are measured already.
        held, at, done = np.zeros(0, dtype=np.float32), 0, 0
        while True:
            data = proc.stdout.read(2 * EXPORT_BLOCK)
            x = np.concatenate((held, np.frombuffer(data, "<i2") / np.float32(32768)))
            # Near the end of what was read, the interpolator sees zeros where more will come:
            # only the file's true end is measured there.
            end = len(x) - context if data else len(x)
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
            if not data:
                break
            cut = max(0, end - context)  # what the next samples' interpolation reaches back to
            held, at, done = x[cut:], at + cut, max(done, end) - cut
    finally:
        proc.stdout.close()
        status = proc.wait()
    if status != 0:
        raise CoachError(f"ffmpeg could not read back {path.name} to check its peaks")
    return [(int(first), int(last), over) for first, last, over in found]


def _counted(blocks: Iterator, progress: Callable[[int], None] | None) -> Iterator:
    for block in blocks:
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
) -> None:
    """Encode `mix(dips, progress)` into `path`; a lossy file is encoded again, with dips, until
    its true peaks keep under PEAK_CHECK_DBTP (progress is shown for the first encode only)."""
    rate = timeline.sample_rate
    # The metadata file goes to the system's temp folder: nothing extra in the user's folder.
    with tempfile.TemporaryDirectory(prefix="coach-meta-") as meta_dir:
        meta = Path(meta_dir) / "metadata.txt"
        meta.write_text(_ffmetadata(timeline, spec.chapters == "ffmetadata"), encoding="utf-8")
        cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
        cmd += ["-f", "s16le", "-ar", str(rate), "-ac", "1", "-i", "pipe:0"]
        cmd += ["-i", str(meta), "-map", "0:a", "-map_metadata", "1"]
        cmd += ["-map_chapters", "1" if spec.chapters == "ffmetadata" else "-1"]
        cmd += [*spec.codec, str(path)]
        dips: Dips = []
        _run_encoder(cmd, mix(dips, progress), path)
        for passes in range(PEAK_PASSES + 1):
            overshoots = _overshoots(path, rate, timeline.duration) if spec.lossy else []
            if not overshoots:
                break
            if passes == PEAK_PASSES:
                raise PeakTooHigh(path.name)
            dips = _deepened(dips, overshoots)
            _run_encoder(cmd, mix(dips), path)
    if spec.chapters == "id3":
        _add_id3_chapters(timeline, path)
    elif spec.chapters == "vorbis":
        _add_vorbis_chapters(timeline, path)


def _run_encoder(cmd: list[str], blocks: Iterator, path: Path) -> None:
    with contextlib.closing(blocks), tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=errors)
        try:
            for block in blocks:
                proc.stdin.write(to_pcm16(block))
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped early: its exit status and message say why
        finally:
            if proc.poll() is None and not proc.stdin.closed:
                proc.kill()  # interrupted mid-stream: stop ffmpeg before removing its file
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            status = proc.wait()
        if status != 0:
            errors.seek(0)
            lines = errors.read().decode(errors="replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {status}"
            raise CoachError(f"ffmpeg could not write {path.name}: {reason}")


def _escape(value: str) -> str:
    """FFMETADATA values: '=', ';', '#', '\\' and newlines are escaped with a backslash."""
    for ch in "\\=;#\n":
        value = value.replace(ch, "\\" + ch)
    return value


def _tags(timeline: Timeline) -> dict[str, str]:
    minutes = round(timeline.duration / timeline.sample_rate / 60)
    steps = len(timeline.massage_steps())
    return {
        "title": timeline.title,
        "artist": "coach",
        "album": "coach: back massage guides",
        "genre": "Speech",
        "comment": f"Voice-guided back massage, {minutes} min, {steps} steps",
    }


def _ffmetadata(timeline: Timeline, chapters: bool) -> str:
    lines = [";FFMETADATA1"]
    lines += [f"{key}={_escape(value)}" for key, value in _tags(timeline).items()]
    if chapters:
        rate = timeline.sample_rate
        for step in timeline.steps:
            lines += ["[CHAPTER]", "TIMEBASE=1/1000"]
            lines += [
                f"START={milliseconds(step.start, rate)}",
                f"END={milliseconds(step.end, rate)}",
            ]
            lines.append(f"title={_escape(step.title)}")
    return "\n".join(lines) + "\n"


def _add_id3_chapters(timeline: Timeline, path: Path) -> None:
    """ID3v2 CHAP frames and the CTOC that players need to show them (children in time order);
    over TOC_ENTRIES chapters, a top-level CTOC of nested ones. The comment goes in a COMM
    frame, which players show (ffmpeg writes it as TXXX:comment, which most do not)."""
    tags = ID3(str(path))
    rate = timeline.sample_rate
    ids = [f"chp{step.index}" for step in timeline.steps]
    for element_id, step in zip(ids, timeline.steps, strict=True):
        start, end = milliseconds(step.start, rate), milliseconds(step.end, rate)
        sub = [TIT2(encoding=3, text=[step.title])]
        tags.add(CHAP(element_id=element_id, start_time=start, end_time=end, sub_frames=sub))
    top = ids
    if len(ids) > TOC_ENTRIES:
        top = []
        for at in range(0, len(ids), TOC_ENTRIES):
            part = timeline.steps[at : at + TOC_ENTRIES]
            title = [TIT2(encoding=3, text=[f"Steps {part[0].index}-{part[-1].index}"])]
            top.append(f"toc{len(top) + 1}")
            children = ids[at : at + TOC_ENTRIES]
            tags.add(CTOC(element_id=top[-1], flags=CTOCFlags.ORDERED,
                          child_element_ids=children, sub_frames=title))  # fmt: skip
    flags = CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    tags.add(CTOC(element_id="toc", flags=flags, child_element_ids=top, sub_frames=[]))
    tags.delall("TXXX:comment")
    tags.add(COMM(encoding=3, lang="eng", desc="", text=[_tags(timeline)["comment"]]))
    tags.save(str(path), v2_version=4)
    _chapter_frames_in_time_order(path)


def _chapter_frames_in_time_order(path: Path) -> None:
    """Reorder the CHAP frames of `path`'s ID3v2.4 tag by start time, in place.

    mutagen writes frames of one kind shortest first, and ffprobe (like the tools built on
    ffmpeg) lists chapters in file order: "Petrissage (6:00)" came first. Only frames trade
    places, so the tag keeps its size and the audio is not touched.
    """
    with open(path, "r+b") as f:
        header = f.read(10)
        body = f.read(_syncsafe(header[6:10]))
        frames, at = [], 0
        while at + 10 <= len(body) and body[at] != 0:  # padding (zeros) ends the frames
            end = at + 10 + _syncsafe(body[at + 4 : at + 8])
            frames.append(body[at:end])
            at = end

        def start_time(frame: bytes) -> int:
            after_id = frame.index(b"\0", 10) + 1  # the element ID is a terminated string
            return int.from_bytes(frame[after_id : after_id + 4], "big")

        chapters = iter(sorted((fr for fr in frames if fr[:4] == b"CHAP"), key=start_time))
        ordered = b"".join(next(chapters) if fr[:4] == b"CHAP" else fr for fr in frames)
        f.seek(10)
        f.write(ordered)


def _syncsafe(data: bytes) -> int:
    """An ID3v2.4 size: 7 bits a byte."""
    return sum((b & 0x7F) << (7 * (len(data) - 1 - i)) for i, b in enumerate(data))


def _add_vorbis_chapters(timeline: Timeline, path: Path) -> None:
    """CHAPTERnnn=HH:MM:SS.mmm and CHAPTERnnnNAME comments (the Vorbis chapter convention)."""
    audio = mutagen.File(str(path))
    rate = timeline.sample_rate
    for n, step in enumerate(timeline.steps, 1):
        audio[f"CHAPTER{n:03d}"] = subtitle_time(step.start, rate, ".")
        audio[f"CHAPTER{n:03d}NAME"] = step.title
    audio.save()


def _partial_name(target: Path, pid: int) -> Path:
    return target.with_name(f".{target.name}.partial-{pid}")


@contextlib.contextmanager
def _partial(target: Path) -> Iterator[Path]:
    """A hidden file beside `target` to write into; removed unless it was moved into place."""
    partial = _partial_name(target, os.getpid())
    try:
        yield partial
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def _remove_stale_partials(target: Path) -> None:
    """Remove partial files of `target` left by exports that were killed (their PID is dead)."""
    prefix = f".{target.name}.partial-"
    for path in target.parent.glob(f".{_glob_escape(target.name)}.partial-*"):
        pid = path.name[len(prefix) :]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _glob_escape(name: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """Turn SIGTERM into an exception while exporting (SIGINT already raises one)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum, frame):
        raise Terminated("export terminated: nothing was written")

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
