"""The coach's own lines between the steps' words: pressure check-ins, halfway, posture,
countdown tones and progress lines, each where it makes sense (pacing.py) and in words that
echo nothing said in its step. A part of the fitter (its base class): placed after every
step's own words, by priority."""

from __future__ import annotations

import itertools
import re

from coach.script.layout import AFTER_CUE, PAUSE, Item, S
from coach.script.pacing import (
    asks_about_pressure,
    asks_pressure,
    halfway_text,
    line_fits,
    near_duplicate,
)
from coach.script.spoken import ONE_MINUTE_LEFT
from coach.script.techniques import STILL
from coach.timeline import clock

COACH_CLEAR = 5 * S // 2  # the coach's own lines keep this clear of other speech
FIRST_CHECK_IN_BY = 5 * 60 * S  # the first pressure check-in, within the first five minutes
LATE = 90 * S  # a low-priority line this much past its time is left out instead
QUIET = 100 * S  # a progress line after this much silence (never much over two minutes)
ASKED = 2 * 60 * S  # no check-in this near the author's own question about the pressure
# A check-in about the pressure: not for light work, where "how does it feel" asks instead.
_PRESSURE = re.compile(r"pressure|one to ten|out of ten|lighter", re.I)


class CoachLines:
    """The fitter's coach lines (see Fitter for the attributes they use)."""

    def coach_lines(self) -> None:
        coaching, duration = self.coaching, self.duration
        check_ins = every(coaching.check_in_first, coaching.check_in_every, duration)
        for k, t in enumerate(check_ins):
            first = k == 0 and t <= FIRST_CHECK_IN_BY
            if first and self.first_check_in is None:
                continue  # placed with its step
            self.line("check-in", self.words.check_ins, k, t, "pressure check-in", first)
        if coaching.halfway and duration >= 4 * 60 * S:
            self.halfway()
        if coaching.posture_every:
            times = every(coaching.posture_every, coaching.posture_every, duration)
            for k, t in enumerate(times):
                self.line("posture", self.words.posture, k, t, "posture reminder")
        if coaching.countdown and duration >= 8 * 60 * S:  # short sessions need no countdown
            for left in (2, 1):
                t = duration - left * 60 * S
                if t > duration // 2:
                    tone = [Item("cue", "countdown", name="countdown")]
                    self.place(tone, t, "countdown tone", early=True, late=20 * S)
        self.progress()

    def pick(self, role: str, texts, k: int, i: int, at: int | None = None) -> str | None:
        """The k-th (in turn) of `texts` that make sense in step `i` (see `fitting`)."""
        return next(iter(self.fitting(role, texts, k, i, at)), None)

    def fitting(self, role: str, texts, k: int, i: int, at: int | None = None) -> list[str]:
        """Those of `texts` that make sense in step `i` and echo nothing said there, from the
        k-th of them in turn. No check-in within ASKED of the author's own question about
        the pressure near `at`: once is a check-in, twice is nagging."""
        step, span = self.scaled[i], self.spans[i]
        said = self.layout.said.get(i + 1, [])
        if role == "check-in" and at is not None:
            asked = [span.start + r.at for r in step.reminders if asks_about_pressure(r.say)]
            if any(abs(t - at) < ASKED for t in asked):
                return []
        found = []
        for text in texts:
            if role == "check-in":
                fits = step.technique not in STILL and (
                    asks_pressure(step, self.routine) or not _PRESSURE.search(text)
                )
            else:
                fits = line_fits(text, step, self.routine)
            if fits and not any(near_duplicate(text, s) for s in said):
                found.append(text)
        n = k % len(found) if found else 0
        return found[n:] + found[:n]

    def shortest(self, texts: list[str]) -> list[str]:
        """`texts`, those about the pressure first, each shortest first: where the line in
        turn does not fit, one that does."""
        return sorted(texts, key=lambda t: (not _PRESSURE.search(t), self.layout.lengths[t]))

    def line(self, role: str, texts, k: int, want: int, what: str, must=False) -> None:
        """The k-th of the coach's rotating `texts` near `want`, in the first step from there
        where one of them fits (`must`: however late, and a shorter one where it does not
        fit; else within LATE)."""
        limit = self.duration if must else min(self.duration, want + LATE)
        t = want
        while t < limit:
            i = self.layout.step_of(t) - 1
            fitting = self.fitting(role, texts, k, i, t)
            if must:  # the one in turn, else the shortest first
                fitting = fitting[:1] + self.shortest(fitting[1:])
            for text in fitting[: None if must else 1]:
                group = [Item("speech", role, text)]
                at = self.spot(group, t, early=must and t == want, must=False, late=LATE)
                end = self.spans[i].end
                inside = at is not None and self.layout.step_of(at) - 1 == i
                if inside and at + self.layout.span(group) <= end - PAUSE:
                    self.put(group, at, want, what)
                    return
            t = self.spans[i].end
        self.notes.append(f"{what} at {clock(want)} left out: no quiet moment near it")

    def halfway(self) -> None:
        """The bell and the halfway line near the middle, saying the time truly left."""
        middle = self.duration // 2
        custom = self.words.halfway

        def group(text: str) -> list[Item]:
            return [
                Item("cue", "halfway", name="bell", gap=AFTER_CUE),
                Item("speech", "halfway", text),
            ]

        text = custom or halfway_text(self.duration - middle)
        at = self.spot(group(text), middle, early=True)
        if at is not None and not custom:
            bell = self.layout.cues.length("bell") + AFTER_CUE
            true = halfway_text(self.duration - at - bell)
            if true != text:  # moved: say what is left from where it lands
                again = self.spot(group(true), at, early=True, late=30 * S)
                fits = again is not None and halfway_text(self.duration - again - bell) == true
                text, at = (true, again) if fits else ("Halfway.", at)
        if at is None:
            self.notes.append(f"halfway cue at {clock(middle)} left out: no quiet moment near it")
            return
        self.put(group(text), at, middle, "halfway cue")

    def place(self, group, want: int, what: str, early=False, must=False, late=LATE) -> None:
        """In the first gap from `want` on (see `spot`), or left out with a note."""
        at = self.spot(group, want, early, must, late)
        if at is None:
            self.notes.append(f"{what} at {clock(want)} left out: no quiet moment near it")
            return
        self.put(group, at, want, what)

    def spot(self, group, want: int, early=False, must=False, late=LATE) -> int | None:
        """The first gap from `want` on (`early`: or the nearest before it in the step that
        leads up to `want`, if closer).

        A line that would land more than `late` after its time has no spot, unless it `must`
        be said: then it takes the first gap there is. Speech keeps COACH_CLEAR from other
        speech; a tone only needs a pause.
        """
        layout = self.layout
        pad = COACH_CLEAR if any(i.kind == "speech" for i in group) else PAUSE
        hi = self.duration if must else min(self.duration, want + late + layout.span(group))
        at = layout.earliest(group, want, hi, pad=pad)
        if early:
            # Only within the step that leads up to `want`, so that where a step's sounds go
            # depends on that step and the next alone: a session can play a step once the
            # next one's phrases are made (coach/script/arrival.py), exactly as warm.
            step = self.spans[layout.step_of(max(want - 1, 0)) - 1]
            lo = max(0, want - late, step.start)
            before = layout.latest(group, want + layout.span(group), lo, pad=pad)
            near = layout.earliest(group, want, min(hi, step.end), pad=pad)
            if before is not None and (near is None or want - before < near - want):
                at = before
        return at

    def put(self, group, at: int, want: int, what: str) -> None:
        if abs(at - want) > 30 * S:
            self.notes.append(f"{what} at {clock(want)} moved to {clock(at)}")
        self.layout.put(group, at)

    def progress(self) -> None:
        """Break each long silence in a working step with a short line tied to progress, one
        that makes sense for the work ("a new spot" only where the work goes spot by spot)."""
        layout, spans = self.layout, self.spans
        speech = sorted((e.start, e.end) for e in layout.events if e.kind == "speech")
        k = 0
        for (_, quiet_from), (quiet_to, _) in itertools.pairwise(speech):
            t = quiet_from + QUIET
            while t < quiet_to - COACH_CLEAR:
                i = layout.step_of(t) - 1
                span = spans[i]
                if span.technique in STILL:
                    t = span.end + QUIET
                    continue
                left = span.end - t
                minute = 45 * S <= left <= 80 * S
                progress = self.words.progress
                text = ONE_MINUTE_LEFT if minute else self.pick("progress", progress, k, i)
                said = [Item("speech", "progress", text)] if text else []
                hi = min(span.end - PAUSE, quiet_to)
                at = layout.earliest(said, t, hi, pad=COACH_CLEAR) if said else None
                if at is None:
                    t = span.end + QUIET
                    continue
                if text != ONE_MINUTE_LEFT:
                    k += 1
                t = layout.put(said, at) + QUIET


def every(first: int | None, every: int | None, duration: int) -> list[int]:
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
