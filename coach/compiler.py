"""The script compiler: a `Routine` in, an exact `Timeline` out.

Pure: no files, no clocks, no processes. How long each phrase and cue lasts comes from the
`speech` and `cues` objects handed in (the real engine, or the words-per-minute estimate), so the
timeline says exactly when every sound starts and ends.

Placement rules:
- speech never overlaps speech, and cues never overlap speech (a rhythm tick may: it is mixed
  quietly under the voice);
- every step opens with its cue and its words at its very first sample;
- an author's reminder that would collide is moved later, never dropped, and the move is noted;
- the coach's own check-ins and posture reminders go in the next free gap after their time;
- a step whose words cannot fit is an error that names the step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from coach.errors import Problem, RoutineError
from coach.routine import Routine, Step
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline, clock, step_at

S = SAMPLE_RATE
PAUSE = S  # between two separate things said (domain notes: leave room to breathe)
SENTENCE_PAUSE = S // 2  # between sentences of one instruction
AFTER_CUE = S // 4  # a chime, then the words
HEADS_UP_LEAD = 3 * S  # "Next: ..." ends this long before its step does
TICK_MARGIN = S  # rhythm ticks stop this long before a step's end

SAFETY_NOTICE = (
    "Safety first: work beside the spine, never on it, and go gently on the lower back.",
    "With a recent injury, fever, blood clots, pregnancy, or unexplained pain, "
    "ask a doctor before you massage.",
)
CHECK_INS = (
    "Check in. Ask: how is the pressure, one to ten? Stay at six or below.",
    "Ask your partner: more pressure, less, or just right?",
    "Watch their breathing. If they tense up or hold their breath, ease off.",
)
POSTURE = (
    "Check your stance: feet apart, knees soft, back straight.",
    "Lean your body weight into the stroke. Don't push with your arms.",
    "Relax your shoulders, and keep breathing slowly yourself.",
)
SESSION_END = "That's the end of the session. Let them rest a moment, there's no rush."
SELF_SESSION_END = "That's the end of the session. Rest a moment, there's no rush."


class SpeechLengths(Protocol):
    voice: str
    rate: int

    def lengths(self, texts: Iterable[str]) -> Mapping[str, int]: ...


class CueLengths(Protocol):
    def length(self, name: str) -> int: ...


@dataclass(frozen=True)
class _Item:
    """One sound of a group that is placed as a unit (e.g. chime + words)."""

    kind: str
    role: str
    text: str = ""
    name: str = ""
    gap: int = 0  # silence before the next item of the group


def sentences(text: str) -> list[str]:
    """Split narration into sentences: each is its own clip, with a short pause between."""
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return [p for p in parts if p]


def scale_steps(steps: tuple[Step, ...], total: int) -> tuple[Step, ...]:
    """Stretch or shrink every step (and its reminders) so the routine lasts `total` samples.

    Proportional, with the rounding remainder handed out by largest fraction so the sum is
    exactly `total`.
    """
    old_total = sum(s.duration for s in steps)
    exact = [s.duration * total / old_total for s in steps]
    sizes = [int(x) for x in exact]
    by_fraction = sorted(range(len(steps)), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_fraction[: total - sum(sizes)]:
        sizes[i] += 1
    scaled = []
    for step, size in zip(steps, sizes, strict=True):
        reminders = tuple(replace(r, at=round(r.at * size / step.duration)) for r in step.reminders)
        scaled.append(replace(step, duration=size, reminders=reminders))
    return tuple(scaled)


class _Layout:
    """The sounds placed so far and the gaps between them (ticks are not tracked: they mix)."""

    def __init__(self, lengths: Mapping[str, int], cues: CueLengths):
        self.lengths = lengths
        self.cues = cues
        self.busy: list[tuple[int, int]] = []
        self.events: list[Event] = []

    def length(self, item: _Item) -> int:
        if item.kind == "speech":
            return self.lengths[item.text]
        return self.cues.length(item.name)

    def span(self, group: list[_Item]) -> int:
        return sum(self.length(i) + i.gap for i in group[:-1]) + self.length(group[-1])

    def free(self, start: int, end: int, pad: int) -> tuple[int, int] | None:
        """The first placed sound within `pad` of [start, end), if any."""
        for a, b in self.busy:
            if a < end + pad and b + pad > start:
                return a, b
        return None

    def put(self, group: list[_Item], start: int, step_of) -> int:
        """Place `group` from `start`; returns where it ends."""
        t = start
        for item in group:
            n = self.length(item)
            self.events.append(
                Event(item.kind, t, t + n, step_of(t), item.role, text=item.text, name=item.name)
            )
            self.busy.append((t, t + n))
            t += n + item.gap
        self.busy.sort()
        return t - group[-1].gap

    def earliest(self, group: list[_Item], at: int, hi: int, pad: int = PAUSE) -> int | None:
        """The earliest start >= `at` where `group` fits, ending by `hi`, or None."""
        n = self.span(group)
        s = at
        while s + n <= hi:
            hit = self.free(s, s + n, pad)
            if hit is None:
                return s
            s = hit[1] + pad
        return None

    def latest(self, group: list[_Item], end_by: int, lo: int, pad: int = PAUSE) -> int | None:
        """The latest start >= `lo` where `group` fits and ends by `end_by`, or None."""
        n = self.span(group)
        s = end_by - n
        while s >= lo:
            hit = self.free(s, s + n, pad)
            if hit is None:
                return s
            s = hit[0] - pad - n
        return None


def compile_routine(
    routine: Routine,
    speech: SpeechLengths,
    cues: CueLengths,
    minutes: float | None = None,
    safety: bool | None = None,
    ticks: bool | None = None,
) -> Timeline:
    """Lay out every sound of `routine` on a timeline.

    `minutes` rescales the routine to that length; `safety` and `ticks` override the routine's
    coaching settings for the safety notice and the rhythm tick. Raises `RoutineError` when
    a step's words cannot fit.
    """
    coaching = routine.coaching
    safety = coaching.safety_notice if safety is None else safety
    ticks = coaching.ticks if ticks is None else ticks
    steps = routine.steps
    if minutes is not None:
        steps = scale_steps(steps, round(minutes * 60 * S))
    starts = [0]
    for step in steps:
        starts.append(starts[-1] + step.duration)
    duration = starts[-1]
    spans = tuple(
        StepSpan(s.index, s.title, s.technique, s.area, starts[i], starts[i] + s.duration)
        for i, s in enumerate(steps)
    )

    def step_of(t: int) -> int:
        return step_at(spans, t).index

    openings = [_opening(routine, i, safety) for i in range(len(steps))]
    heads_ups = [[_Item("speech", "next", f"Next: {s.title}.")] for s in steps[1:]]
    halfway = [
        _Item("cue", "halfway", name="bell", gap=AFTER_CUE),
        _Item("speech", "halfway", _halfway_text(duration)),
    ]
    ending = [
        _Item("speech", "end", SESSION_END if coaching.partner else SELF_SESSION_END, gap=PAUSE),
        _Item("cue", "end", name="gong"),
    ]
    texts = [i.text for g in [*openings, *heads_ups, halfway, ending] for i in g if i.text]
    texts += [r.say for s in steps for r in s.reminders] + list(CHECK_INS) + list(POSTURE)
    layout = _Layout(speech.lengths(dict.fromkeys(texts)), cues)
    problems: list[Problem] = []
    notes: list[str] = []

    def too_long(step: Step, what: str) -> None:
        hint = f"with --minutes {minutes:g}" if minutes is not None else "as written"
        problems.append(
            Problem(
                routine.path,
                step.line,
                f"step {step.index} ({step.title}): {what}; the step lasts {clock(step.duration)} "
                f"{hint}: shorten its words or lengthen its duration",
            )
        )

    # 1. What must be exact: each step's opening at its first sample, the end on the last one.
    opening_ends = []
    overfull = set()
    for i, step in enumerate(steps):
        group = openings[i]
        end = starts[i] + layout.span(group) if group else starts[i]
        if group:
            layout.put(group, starts[i], step_of)
        opening_ends.append(end)
        if end > starts[i] + step.duration:
            too_long(step, f"its opening words need {clock(end - starts[i])}")
            overfull.add(i)
    end_at = layout.latest(ending, duration, opening_ends[-1], pad=PAUSE)
    if end_at is None and len(steps) - 1 not in overfull:
        too_long(steps[-1], "its words and the closing words do not fit together")
    elif end_at is not None:
        layout.put(ending, end_at, step_of)

    # 2. "Next: ..." just before each step ends.
    for i, step in enumerate(steps[:-1] if coaching.heads_up else ()):
        end_by = starts[i] + step.duration - HEADS_UP_LEAD
        at = layout.latest(heads_ups[i], end_by, opening_ends[i])
        if at is None and i not in overfull:
            too_long(step, "its words and the heads-up for the next step do not fit")
        elif at is not None:
            layout.put(heads_ups[i], at, step_of)
    if problems:
        raise RoutineError(problems)

    # 3. The author's reminders, at their time or moved later within the step.
    for i, step in enumerate(steps):
        step_end = starts[i] + step.duration
        for r in step.reminders:
            group = [_Item("speech", "reminder", r.say)]
            want = starts[i] + r.at
            at = layout.earliest(group, want, step_end)
            if at is None:
                problems.append(
                    Problem(
                        routine.path,
                        r.line,
                        f"step {step.index} ({step.title}): reminder at {clock(r.at)} "
                        f"does not fit before the step ends ({clock(step.duration)}): move it "
                        "earlier, shorten it, or lengthen the step",
                    )
                )
                continue
            if at != want:
                notes.append(
                    f"step {step.index}: reminder at {clock(r.at)} moved to "
                    f"{clock(at - starts[i])} to keep clear of other speech"
                )
            layout.put(group, at, step_of)
    if problems:
        raise RoutineError(problems)

    # 4. The coach's own cues: halfway, check-ins, posture, the last minutes.
    def place_anywhere(group: list[_Item], want: int, what: str, early: bool = False) -> None:
        """In the first gap from `want` on (`early`: or the nearest gap before, if closer)."""
        at = layout.earliest(group, want, duration)
        before = layout.latest(group, want + layout.span(group), 0) if early else None
        if before is not None and (at is None or want - before < at - want):
            at = before
        if at is None:
            notes.append(f"{what} at {clock(want)} left out: no gap for it before the end")
            return
        if abs(at - want) > 30 * S:
            notes.append(f"{what} at {clock(want)} moved to {clock(at)}: no gap for it nearer")
        layout.put(group, at, step_of)

    if coaching.halfway and duration >= 4 * 60 * S:
        place_anywhere(halfway, duration // 2, "halfway cue", early=True)
    for k, t in enumerate(_every(coaching.check_in_first, coaching.check_in_every, duration)):
        place_anywhere([_Item("speech", "check-in", CHECK_INS[k % 3])], t, "pressure check-in")
    if coaching.posture_every:
        first = coaching.posture_every
        for k, t in enumerate(_every(first, coaching.posture_every, duration)):
            place_anywhere([_Item("speech", "posture", POSTURE[k % 3])], t, "posture reminder")
    if coaching.countdown and duration >= 8 * 60 * S:  # short sessions need no countdown
        for left in (2, 1):
            t = duration - left * 60 * S
            if t > duration // 2:
                place_anywhere([_Item("cue", "countdown", name="countdown")], t, "countdown tone")

    # 5. The stroke rhythm: soft ticks at the technique's tempo, under everything else.
    if ticks:
        tick_len = cues.length("tick")
        for i, step in enumerate(steps):
            per_minute = routine.techniques[step.technique].per_minute
            if not per_minute:
                continue
            period = round(60 * S / per_minute)
            t = opening_ends[i] + PAUSE
            while t + tick_len <= starts[i] + step.duration - TICK_MARGIN:
                layout.events.append(Event("cue", t, t + tick_len, step.index, "tick", name="tick"))
                t += period

    return Timeline(
        title=routine.title,
        duration=duration,
        steps=spans,
        events=tuple(sorted(layout.events, key=lambda e: (e.start, e.end))),
        voice=speech.voice,
        rate=speech.rate,
        language=routine.language,
        estimated=speech.engine == "estimate",
        engine=speech.engine,
        notes=tuple(notes),
    )


def shortest_minutes(
    routine: Routine, speech: SpeechLengths, cues: CueLengths, **options
) -> int | None:
    """The fewest whole minutes `routine` can be scaled to with all its words, or None.

    For the error a user gets from a `--minutes` that is too short. Compiling is pure and
    cheap, so this bisects between one minute and the routine's own length (or an hour).
    """

    def fits(minutes: int) -> bool:
        try:
            compile_routine(routine, speech, cues, minutes=minutes, **options)
        except RoutineError:
            return False
        return True

    lo, hi = 0, max(60, -(-routine.duration // (60 * S)))
    if not fits(hi):
        return None
    while hi - lo > 1:  # fits(hi) and not fits(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return hi


def _opening(routine: Routine, i: int, safety: bool) -> list[_Item]:
    """What a step says at its start: cue, (safety notice), title, instruction, tempo, cautions."""
    step = routine.steps[i]
    technique = routine.techniques[step.technique]
    coaching = routine.coaching
    group: list[_Item] = []
    if step.cue:
        group.append(_Item("cue", "step", name=step.cue, gap=AFTER_CUE))
    paragraphs: list[tuple[str, str]] = []
    if i == 0 and safety:
        paragraphs += [("safety", s) for s in SAFETY_NOTICE]
    paragraphs.append(("title", f"{step.title}."))
    paragraphs += [("instruction", s) for s in sentences(step.say)]
    if coaching.tempo and technique.tempo:
        paragraphs += [("tempo", s) for s in sentences(technique.tempo)]
    # "Too much pressure": how firmly, and what to avoid, when a technique first appears
    # (later, the pressure check-ins take over).
    first_use = all(s.technique != step.technique for s in routine.steps[:i])
    if coaching.cautions and first_use and technique.pressure:
        pressure = technique.pressure[0].lower() + technique.pressure[1:]
        paragraphs += [("pressure", s) for s in sentences(f"Pressure: {pressure}")]
    if coaching.cautions and first_use:
        paragraphs += [("caution", s) for c in technique.cautions for s in sentences(c)]
    for k, (role, text) in enumerate(paragraphs):
        next_role = paragraphs[k + 1][0] if k + 1 < len(paragraphs) else None
        gap = SENTENCE_PAUSE if next_role == role else PAUSE
        group.append(_Item("speech", role, text, gap=gap))
    return group


def _halfway_text(duration: int) -> str:
    left = duration / 2 / S / 60
    if left < 5 or left != int(left):
        return "Halfway."
    return f"Halfway. {int(left)} minutes to go."


def _every(first: int | None, every: int | None, duration: int) -> list[int]:
    """Times for a repeated reminder, none in the last minute."""
    if first is None:
        return []
    times, t = [], first
    while t < duration - 60 * S:
        times.append(t)
        if not every:
            break
        t += every
    return times
