"""Chapters and tags in an exported file, written after the audio where its muxer cannot.

MP4 (M4A, M4B) takes its chapters from the muxer (coach.files.encode). MP3 gets ID3v2 CHAP and
CTOC frames from mutagen: FFmpeg's MP3 muxer writes one CTOC whose entry count is one byte, so
300 chapters came out listed as 44 (measured with PyAV 18.1, FFmpeg 8.1). FLAC and Ogg get
Vorbis CHAPTERnnn comments: FFmpeg's FLAC muxer drops chapters.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import mutagen
from mutagen.id3 import CHAP, COMM, CTOC, ID3, TIT2, CTOCFlags

from coach.files.preview import milliseconds, subtitle_time
from coach.timeline import Timeline

# A CTOC frame counts its entries in one byte: more chapters go into nested tables of contents.
TOC_ENTRIES = 255


def guide_tags(timeline: Timeline) -> dict[str, str]:
    minutes = round(timeline.duration / timeline.sample_rate / 60)
    steps = len(timeline.massage_steps())
    return {
        "title": timeline.title,
        "artist": "coach",
        "album": "coach: back massage guides",
        "genre": "Speech",
        "comment": f"Voice-guided back massage, {minutes} min, {steps} steps",
    }


def mp4_chapters(timeline: Timeline) -> list[dict]:
    """The timeline's steps as PyAV chapters for the MP4 muxer, to the sample."""
    base = Fraction(1, timeline.sample_rate)
    return [
        {"id": n, "start": s.start, "end": s.end, "time_base": base, "metadata": {"title": s.title}}
        for n, s in enumerate(timeline.steps, 1)
    ]


def add_id3_chapters(timeline: Timeline, path: Path) -> None:
    """ID3v2 CHAP frames and the CTOC that players need to show them (children in time order);
    over TOC_ENTRIES chapters, a top-level CTOC of nested ones. The comment goes in a COMM
    frame, which players show (FFmpeg's muxer writes it as TXXX:comment, which most do not)."""
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
    tags.add(COMM(encoding=3, lang="eng", desc="", text=[guide_tags(timeline)["comment"]]))
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


def add_vorbis_chapters(timeline: Timeline, path: Path) -> None:
    """CHAPTERnnn=HH:MM:SS.mmm and CHAPTERnnnNAME comments (the Vorbis chapter convention)."""
    audio = mutagen.File(str(path))
    rate = timeline.sample_rate
    for n, step in enumerate(timeline.steps, 1):
        audio[f"CHAPTER{n:03d}"] = subtitle_time(step.start, rate, ".")
        audio[f"CHAPTER{n:03d}NAME"] = step.title
    audio.save()
