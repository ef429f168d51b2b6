"""What each step's own words need (its floor, the shortest step that holds them), and a
routine scaled to a new length: steps stretched or shrunk, never below their floors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from coach.errors import Problem, RoutineError
from coach.script.layout import PAUSE, Item, Part, S, group_span, step_group
from coach.script.model import Routine, Step
from coach.script.spoken import sentences
from coach.script.techniques import FLEXIBLE, SECONDS
from coach.timeline import clock


def own_group(step: Step, before: Sequence[Part] = ()) -> list[Item]:
    """What a step must say at its start: its cue and its instruction (after the parts
    `before` it, when asked: where to work and its cautions)."""
    return step_group(step.cue, [*before, Part("instruction", tuple(sentences(step.say)), 0)])


def overruns(step: Step, length: int, lengths, cues) -> list[int | None]:
    """Where the step's own words overrun a step of `length` samples: None for the opening,
    k for its k-th reminder (0-based); empty when they fit.

    Mirrors the layout: the reminders at their (scaled) times or later, a pause after each
    sound, and a pause before the next step's first sound.
    """
    return overruns_after(step, length, group_span(own_group(step), lengths, cues), lengths)


def overruns_after(
    step: Step, length: int, opening: int, lengths, tail: int = 0
) -> list[int | None]:
    """`overruns`, for an opening of `opening` samples; with `tail`, that much more must fit
    after the last of them (its index then is one past the reminders)."""
    if opening + PAUSE > length:
        return [None]
    t, late = opening, []
    for k, r in enumerate(step.reminders):
        want = round(r.at * length / step.duration)
        t = max(t + PAUSE, want) + lengths[r.say]
        if t + PAUSE > length:
            late.append(k)
    if tail and t + tail > length:
        late.append(len(step.reminders))
    return late


def own_floor(step: Step, lengths, cues, before: Sequence[Part] = (), tail: int = 0) -> int:
    """The shortest length (samples) that holds the step's own words (after `before`, and
    `tail` more after them)."""
    opening = group_span(own_group(step, before), lengths, cues)
    lo, hi = 0, max(step.duration, S)
    while overruns_after(step, hi, opening, lengths, tail):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # lo does not fit, hi does
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if overruns_after(step, mid, opening, lengths, tail) else (lo, mid)
    return hi


def _share(
    base: Sequence[int], lo: Sequence[int], hi: Sequence[float], weight: Sequence[float], total: int
) -> list[int]:
    """Sizes within [lo, hi] summing exactly to `total`, each moved from `base` in proportion
    to weight * base (found by bisection), the rounding remainder by largest fraction.

    The caller makes sure sum(lo) <= total <= sum(hi).
    """
    n = len(base)
    grow = total > sum(base)

    def sizes(k: float) -> list[float]:
        moved = [b * (1 + k * w if grow else 1 - k * w) for b, w in zip(base, weight, strict=True)]
        return [min(max(x, low), high) for x, low, high in zip(moved, lo, hi, strict=True)]

    short, long = 0.0, 1.0  # moves too short and long enough
    while (sum(sizes(long)) < total) if grow else (sum(sizes(long)) > total):
        short, long = long, long * 2
    for _ in range(60):
        k = (short + long) / 2
        enough = sum(sizes(k)) >= total if grow else sum(sizes(k)) <= total
        short, long = (short, k) if enough else (k, long)
    exact = sizes(long if not grow else short)  # a sum at most `total`
    out = [int(x) for x in exact]
    room = sorted(
        (i for i in range(n) if out[i] < hi[i]), key=lambda i: exact[i] - out[i], reverse=True
    )
    for j in range(total - sum(out)):
        out[room[j % len(room)]] += 1
    return out


def scale_steps(
    steps: tuple[Step, ...],
    total: int,
    floors: Sequence[int] | None = None,
    wishes: Sequence[int] | None = None,
) -> tuple[Step, ...]:
    """The steps stretched or shrunk to last `total` samples together, reminders with them.

    Not plainly in proportion: shrinking takes time three times as fast from effleurage,
    petrissage and targeting as from the rest, and keeps each step at its technique's least
    (oil 45 s, contact 20 s) while it can, and always at what its own words need (`floors`);
    stretching stops tapotement at a minute and vibration at 40 s and gives the rest to the
    other steps. `wishes` are lengths kept like a technique's least. The caller makes sure
    sum(floors) <= total.
    """
    n = len(steps)
    floors = list(floors) if floors is not None else [0] * n
    wishes = list(wishes) if wishes is not None else floors
    base = [max(s.duration, f) for s, f in zip(steps, floors, strict=True)]
    limits = [SECONDS.get(s.technique, (None, None)) for s in steps]
    if total <= sum(base):
        least = [
            max(f, min(b, max(w, (low or 0) * S)))
            for f, w, b, (low, _) in zip(floors, wishes, base, limits, strict=True)
        ]
        lo = least if sum(least) <= total else floors
        weight = [3.0 if s.technique in FLEXIBLE else 1.0 for s in steps]
        sizes = _share(base, lo, base, weight, total)
    else:
        hi = [
            max(b, most * S) if most else float("inf")
            for b, (_, most) in zip(base, limits, strict=True)
        ]
        if sum(hi) < total:  # every step is capped: stretch them all
            hi = [float("inf")] * n
        sizes = _share(base, base, hi, [1.0] * n, total)
    scaled = []
    for step, size in zip(steps, sizes, strict=True):
        reminders = tuple(replace(r, at=round(r.at * size / step.duration)) for r in step.reminders)
        scaled.append(replace(step, duration=size, reminders=reminders))
    return tuple(scaled)


def minutes_needed(floors: Sequence[int]) -> int:
    return max(1, -(-sum(floors) // (60 * S)))


def check_own_words(routine: Routine, lengths, cues, floors, editable: bool) -> None:
    problems = []
    for step, floor in zip(routine.steps, floors, strict=True):
        where = f"step {step.index} ({step.title})"
        for k in overruns(step, step.duration, lengths, cues):
            if k is None:
                fix = "; lengthen it or shorten its words" if editable else ""
                message = (
                    f"{where}: its own words need {clock(floor)}; "
                    f"the step lasts {clock(step.duration)}{fix}"
                )
                problems.append(Problem(routine.path, step.line, message))
                continue
            r = step.reminders[k]
            fix = ": move it earlier, shorten it, or lengthen the step" if editable else ""
            message = (
                f"{where}: reminder at {clock(r.at)} does not fit before the step ends "
                f"({clock(step.duration)}){fix}"
            )
            problems.append(Problem(routine.path, r.line, message))
    if problems:
        raise RoutineError(problems)


def too_short(routine: Routine, floors: Sequence[int], total: int) -> list[Problem]:
    """The steps whose own words need more than their share of `total`."""
    duration = routine.duration
    problems = []
    for step, floor in zip(routine.steps, floors, strict=True):
        share = step.duration * total // duration
        if floor > share:
            problems.append(
                Problem(
                    routine.path,
                    step.line,
                    f"step {step.index} ({step.title}): its own words need {clock(floor)}; "
                    f"in {clock(total)} it would get {clock(share)}",
                )
            )
    return problems
