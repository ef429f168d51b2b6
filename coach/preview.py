"""Subtitle formats of a timeline: one cue per spoken phrase, at its exact times.

Used by `coach preview --format srt|vtt` and by `coach export --transcript`, so the two always
agree. Sample positions become whole milliseconds only here, at the very end.
"""

from __future__ import annotations

from coach.timeline import Timeline


def millis(position: int, rate: int) -> int:
    """A sample position as the nearest whole millisecond."""
    return (position * 1000 + rate // 2) // rate


def clock(position: int, rate: int, sep: str) -> str:
    ms = millis(position, rate)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def to_srt(timeline: Timeline) -> str:
    rate = timeline.sample_rate
    cues = []
    for n, e in enumerate(timeline.speech(), 1):
        span = f"{clock(e.start, rate, ',')} --> {clock(e.end, rate, ',')}"
        cues.append(f"{n}\n{span}\n{e.text}\n")
    return "\n".join(cues)


def to_vtt(timeline: Timeline) -> str:
    rate = timeline.sample_rate
    cues = ["WEBVTT\n"]
    for e in timeline.speech():
        cues.append(f"{clock(e.start, rate, '.')} --> {clock(e.end, rate, '.')}\n{e.text}\n")
    return "\n".join(cues)
