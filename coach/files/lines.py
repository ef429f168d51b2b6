"""A session's events as lines of text, step by step: shared by the text previews and the
picture, so a phrase reads the same in the table, the subtitles' neighbours and the hover."""

from __future__ import annotations

from coach.timeline import Event, Timeline, clock


def summary(t: Timeline) -> str:
    """The session's length, voice and rate in one line (under the title in every format)."""
    if t.estimated:
        voice = f"ESTIMATED timing at {t.rate} words a minute (no speech engine)"
    else:
        voice = f"voice {t.voice}, {t.rate} words a minute"
    length = clock(t.duration, t.sample_rate)
    if t.massage_steps() != t.steps:  # framed: the massage's own length first
        length = f"{clock(t.massage_end - t.massage_start, t.sample_rate)} massage, {length} in all"
    return f"{length}, {voice}, seed {t.seed}"


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
