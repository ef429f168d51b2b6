"""The timeline as text: a terminal table, Markdown, JSON, SRT/WebVTT subtitles, and its
picture (SVG, or an HTML page holding the picture and the table)."""

from __future__ import annotations

import json

from coach.timeline import Event, Timeline, clock

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


def summary(t: Timeline) -> str:
    """The session's length, voice and rate in one line (under the title in every format)."""
    if t.estimated:
        voice = f"ESTIMATED timing at {t.rate} words a minute (no speech engine)"
    else:
        voice = f"voice {t.voice}, {t.rate} words a minute"
    length = clock(t.duration, t.sample_rate)
    if t.massage_steps() != t.steps:  # framed: the massage's own length first
        length = f"{clock(t.massage_end - t.massage_start, t.sample_rate)} massage, {length} in all"
    return f"{length}, {voice}"


def _line(e: Event) -> str:
    if e.kind == "speech":
        return e.text
    return f"[{e.name if e.role != 'step' else e.name + ' - new step'}]"


def _ticks_summary(events: list[Event], rate: int) -> str:
    period = (events[1].start - events[0].start) / rate if len(events) > 1 else 0
    return f"[rhythm tick x{len(events)}" + (f", every {period:.1f} s]" if period else "]")


def by_step(t: Timeline) -> dict[int, list[Event]]:
    """Each step's events in time order, found in one pass (a scan per step made the preview
    of a 2000-step routine quadratic)."""
    found: dict[int, list[Event]] = {}
    for e in t.events:
        found.setdefault(e.step, []).append(e)
    return found


def step_lines(t: Timeline, in_step: list[Event]) -> list[tuple[int, str]]:
    """(start, text) for each sound of a step in time order, its rhythm ticks as one line."""
    ticks = [e for e in in_step if e.role == "tick"]
    lines = [(e.start, _line(e)) for e in in_step if e.role != "tick"]
    if ticks:
        lines.append((ticks[0].start, _ticks_summary(ticks, t.sample_rate)))
    return sorted(lines, key=lambda line: line[0])


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
