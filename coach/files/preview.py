"""The timeline as text: a terminal table, Markdown, JSON, SRT/WebVTT subtitles, and its
picture (SVG, or an HTML page holding the picture and the table)."""

from __future__ import annotations

import json

from coach.files.lines import by_step, step_lines, summary
from coach.timeline import Timeline, clock

FORMATS = ("text", "markdown", "json", "srt", "vtt", "svg", "html")


def render_preview(timeline: Timeline, fmt: str) -> str:
    if fmt in ("svg", "html"):  # they build on this module's summary and table
        from coach.files import page, picture

        return picture.svg(timeline) if fmt == "svg" else page.html(timeline)
    return {
        "text": to_text,
        "markdown": to_markdown,
        "json": to_json,
        "srt": to_srt,
        "vtt": to_vtt,
    }[fmt](timeline)


def milliseconds(samples: int, rate: int) -> int:
    return round(samples * 1000 / rate)


def subtitle_time(samples: int, rate: int, sep: str) -> str:
    ms = milliseconds(samples, rate)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_text(t: Timeline) -> str:
    rate = t.sample_rate
    lines = [f"{t.title} ({summary(t)})", ""]
    events = by_step(t)
    for step in t.steps:
        span = f"{clock(step.start, rate)}-{clock(step.end, rate)}"
        if t.is_massage(step):
            lines.append(f"{step.index:>2}. {step.title}  ({step.technique}, {step.area})  {span}")
        else:  # the pre-roll and the aftercare: no step number, no technique
            lines.append(f"    {step.title}  {span}")
        for start, text in step_lines(t, events.get(step.index, [])):
            lines.append(f"    {clock(start, rate, tenths=True):>7}  {text}")
        lines.append("")
    lines += [f"note: {n}" for n in t.notes]
    return "\n".join(lines).rstrip() + "\n"


def to_markdown(t: Timeline) -> str:
    rate = t.sample_rate
    lines = [f"# {t.title}", "", summary(t).capitalize(), ""]
    events = by_step(t)
    for step in t.steps:
        span = f"{clock(step.start, rate)}–{clock(step.end, rate)}"
        if t.is_massage(step):
            lines += [f"## {step.index}. {step.title} ({span})", ""]
            lines += [f"*{step.technique}, {step.area}*", ""]
        else:
            lines += [f"## {step.title} ({span})", ""]
        for start, text in step_lines(t, events.get(step.index, [])):
            lines.append(f"- `{clock(start, rate, tenths=True)}` {text}")
        lines.append("")
    if t.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in t.notes] + [""]
    return "\n".join(lines)


def to_json(t: Timeline) -> str:
    return json.dumps(t.to_dict(), indent=2, ensure_ascii=False) + "\n"


def to_srt(t: Timeline) -> str:
    """SubRip: one numbered cue per speech event, at its exact times (to the millisecond)."""
    blocks = []
    for n, e in enumerate(t.speech(), 1):
        start = subtitle_time(e.start, t.sample_rate, ",")
        end = subtitle_time(e.end, t.sample_rate, ",")
        blocks.append(f"{n}\n{start} --> {end}\n{e.text}\n")
    return "\n".join(blocks)


def to_vtt(t: Timeline) -> str:
    """WebVTT: one cue per speech event, at its exact times (to the millisecond)."""
    blocks = ["WEBVTT\n"]
    for e in t.speech():
        start = subtitle_time(e.start, t.sample_rate, ".")
        end = subtitle_time(e.end, t.sample_rate, ".")
        blocks.append(f"{start} --> {end}\n{e.text}\n")
    return "\n".join(blocks)
