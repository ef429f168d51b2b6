"""The fitter: one routine's sounds placed by priority on its layout, with notes on what moved
or was left out. The rules it follows are in compiler.py's docstring."""

from __future__ import annotations

import itertools

from coach.script.layout import AFTER_CUE, PART_PAUSE, PAUSE, Item, Layout, Part, S, step_group
from coach.script.model import Step
from coach.script.safety import cautions_for
from coach.script.spoken import ONE_MINUTE_LEFT, PROGRESS, Words, sentences
from coach.script.techniques import STILL
from coach.timeline import Event, clock

COACH_CLEAR = 5 * S // 2  # the coach's own lines keep this clear of other speech
HEADS_UP_LEAD = 3 * S  # "Next: ..." ends this long before its step does
SHORT_STEP = 30 * S  # on a shorter step the chime is heads-up enough
FIRST_CHECK_IN_BY = 5 * 60 * S  # the first pressure check-in, within the first five minutes
LATE = 90 * S  # a low-priority line this much past its time is left out instead
REPEAT_AFTER = 8 * 60 * S  # a tempo or caution is said again only after this long
MAX_SAYINGS = 2  # ...and a caution at most this often
QUIET = 100 * S  # a progress line after this much silence (never much over two minutes)
TICK_MARGIN = S  # rhythm ticks stop this long before a step's end


class Fitter:
    """Places one routine's sounds by priority; collects notes on what moved or was left out."""

    def __init__(self, routine, steps, spans, words: Words, layout: Layout):
        self.routine = routine
        self.coaching = routine.coaching
        self.scaled = steps
        self.spans = spans
        self.words = words
        self.layout = layout
        self.duration = spans[-1].end
        self.notes: list[str] = []
        self.opening_ends: list[int] = []
        self.announced = False  # the current step's title was said by "Next: ..."
        check_ins = _every(
            self.coaching.check_in_first, self.coaching.check_in_every, self.duration
        )
        # The first check-in outranks a step's pressure figure and tempo: room is kept for it.
        self.first_check_in = (
            check_ins[0] if check_ins and check_ins[0] <= FIRST_CHECK_IN_BY else None
        )
        self.tempo_at: dict[str, int] = {}  # technique -> when its tempo was last said
        self.pressure_said: set[str] = set()
        self.said: dict[str, list[int]] = {}  # caution, pressure or tempo sentence -> when
        self.waiting: dict[str, list[str]] = {}  # technique -> cautions not said yet

    # -- each step: its opening, its reminders, the ending, the heads-up -----------------------

    def place_steps(self) -> None:
        for i, step in enumerate(self.scaled):
            self.step(i, step)

    def step(self, i: int, step: Step) -> None:
        """Step `i`: its opening at its first sample, its reminders, then (on the last step)
        the closing words, the first check-in when due here, and "Next: ..." for step i + 1."""
        layout, span = self.layout, self.spans[i]
        last = i == len(self.scaled) - 1
        ending = [
            Item("speech", "end", self.words.ending, gap=PAUSE),
            Item("cue", "end", name="gong"),
        ]
        wants = [span.start + r.at for r in step.reminders]
        room = (wants[0] - PART_PAUSE) if wants else span.end - PAUSE
        room = min(room, span.end - PAUSE)
        reserve = layout.span(ending) + PART_PAUSE if last else 0
        check_in = [Item("speech", "check-in", self.words.check_ins[0])]
        due = self.first_check_in is not None and self.first_check_in < span.end
        if due:
            reserve += layout.span(check_in) + 2 * COACH_CLEAR

        parts, left_out = self.opening(i, step, room, reserve)
        end = layout.put(step_group(step.cue, parts), span.start)
        self.opening_ends.append(end)
        for p in parts:
            self.remember(p, span.start, step.technique)
        end = self.reminders(step, span, wants, end)
        if last:
            self.ending(ending, end, left_out)
        if due:  # in this step (the next one is not laid out yet), else with the coach's lines
            self.step_check_in(check_in, span)
        self.announced = False
        if not last and self.coaching.heads_up and step.duration >= SHORT_STEP:
            self.heads_up(i, end, left_out)
        if left_out:
            self.notes.append(f"step {step.index}: no room for {_listed(left_out)}")

    def reminders(self, step: Step, span, wants: list[int], end: int) -> int:
        """The author's reminders at their times, or moved later (noted); returns where the
        last sound so far ends."""
        layout = self.layout
        for r, want in zip(step.reminders, wants, strict=True):
            said = [Item("speech", "reminder", r.say)]
            at = layout.earliest(said, want, span.end - PAUSE)
            # (check_own_words and scale_steps make sure it fits)
            if at - want >= S:
                self.notes.append(
                    f"step {step.index}: reminder at {clock(r.at)} moved to "
                    f"{clock(at - span.start)} to keep clear of other speech"
                )
            end = max(end, layout.put(said, at))
        return end

    def ending(self, ending: list[Item], end: int, left_out: list[str]) -> None:
        """The closing words and gong by the session's end, else the gong alone, else nothing."""
        layout = self.layout
        at = layout.latest(ending, self.duration, end, pad=PART_PAUSE)
        if at is None:
            ending = ending[1:]
            at = layout.latest(ending, self.duration, end)
            left_out.append("the closing words")
        if at is None:
            left_out.append("the closing gong")
        else:
            layout.put(ending, at)

    def step_check_in(self, check_in: list[Item], span) -> None:
        """The first pressure check-in, at its time or the nearest room before it."""
        layout = self.layout
        want, end_by = self.first_check_in, span.end - COACH_CLEAR
        at = layout.earliest(check_in, want, end_by, pad=COACH_CLEAR)
        if at is None:
            before = min(end_by, want + layout.span(check_in))
            at = layout.latest(check_in, before, span.start, pad=COACH_CLEAR)
        if at is not None:
            layout.put(check_in, at)
            self.first_check_in = None

    def heads_up(self, i: int, end: int, left_out: list[str]) -> None:
        """The heads-up ("Next: ...") for step i + 1, ending HEADS_UP_LEAD before step i does."""
        following = self.scaled[i + 1]
        said = [Item("speech", "next", self.words.heads_up(following.title))]
        at = self.layout.latest(said, self.spans[i].end - HEADS_UP_LEAD, end, pad=COACH_CLEAR)
        if at is None:
            left_out.append('"Next: ..."')
        else:
            self.layout.put(said, at)
            self.announced = True

    def opening(self, i: int, step: Step, room: int, reserve: int):
        """The parts step `i` opens with, and what was left out for want of room.

        The author's instruction always; then, highest priority first, each part the coach
        would add while the opening still ends by `room` (less `reserve` for parts below the
        closing words' priority).
        """
        coaching, technique = self.coaching, self.routine.techniques[step.technique]
        start = self.spans[i].start
        wanted = [Part("instruction", tuple(sentences(step.say)), 0)]

        def fresh(texts) -> tuple[str, ...]:
            return tuple(t for t in texts if self.may_repeat(t, start))

        if coaching.cautions:
            # A caution with no room at a technique's first use waits for its next use.
            waiting = self.waiting.pop(technique.name, ())
            for c in dict.fromkeys([*waiting, *cautions_for(self.routine, i)]):
                if said := fresh(sentences(c)):
                    wanted.append(Part("caution", said, 2, "a caution", source=c))
            if technique.name not in self.pressure_said:
                said = fresh(self.words.pressure(technique))
                wanted.append(Part("pressure", said, 4, "the pressure"))
        if coaching.tempo:
            last = self.tempo_at.get(technique.name)
            if last is None or start - last >= REPEAT_AFTER:
                said = fresh(self.words.tempo(technique, again=last is not None))
                wanted.append(Part("tempo", said, 5, "the tempo"))
        if not self.announced:
            wanted.append(Part("title", (f"{step.title}.",), 6, "the title"))

        order = ("title", "instruction", "pressure", "tempo", "caution")
        chosen: list[Part] = []
        left_out = []
        for part in sorted(wanted, key=lambda p: p.priority):
            if not part.sentences:  # all of it said lately: nothing to say, nothing missed
                self.remember(part, start, technique.name)
                continue
            trial = sorted([*chosen, part], key=lambda p: order.index(p.role))
            limit = room - (reserve if part.priority > 3 else 0)
            if part.priority == 0 or start + self.layout.span(step_group(step.cue, trial)) <= limit:
                chosen = trial
            elif part.role != "title":  # a title is only a courtesy: no note
                left_out.append(part.what)
                if part.role == "caution":
                    self.waiting.setdefault(technique.name, []).append(part.source)
        return chosen, list(dict.fromkeys(left_out))

    def may_repeat(self, sentence: str, at: int) -> bool:
        times = self.said.get(sentence, [])
        return len(times) < MAX_SAYINGS and all(at - t >= REPEAT_AFTER for t in times)

    def remember(self, part: Part, at: int, name: str) -> None:
        if part.role in ("caution", "pressure", "tempo"):
            for s in part.sentences:
                self.said.setdefault(s, []).append(at)
        if part.role == "tempo":
            self.tempo_at[name] = at
        elif part.role == "pressure":
            self.pressure_said.add(name)

    # -- the coach's own lines: check-ins, halfway, posture, countdown, progress -------------

    def coach_lines(self) -> None:
        coaching, duration = self.coaching, self.duration
        check_ins = _every(coaching.check_in_first, coaching.check_in_every, duration)
        for k, t in enumerate(check_ins):
            first = k == 0 and t <= FIRST_CHECK_IN_BY
            if first and self.first_check_in is None:
                continue  # placed with its step
            text = self.words.check_ins[k % len(self.words.check_ins)]
            self.place([Item("speech", "check-in", text)], t, "pressure check-in", first, first)
        if coaching.halfway and duration >= 4 * 60 * S:
            halfway = [
                Item("cue", "halfway", name="bell", gap=AFTER_CUE),
                Item("speech", "halfway", self.words.halfway),
            ]
            self.place(halfway, duration // 2, "halfway cue", early=True)
        if coaching.posture_every:
            times = _every(coaching.posture_every, coaching.posture_every, duration)
            for k, t in enumerate(times):
                text = self.words.posture[k % len(self.words.posture)]
                self.place([Item("speech", "posture", text)], t, "posture reminder")
        if coaching.countdown and duration >= 8 * 60 * S:  # short sessions need no countdown
            for left in (2, 1):
                t = duration - left * 60 * S
                if t > duration // 2:
                    tone = [Item("cue", "countdown", name="countdown")]
                    self.place(tone, t, "countdown tone", early=True, late=20 * S)
        self.progress()

    def place(self, group, want: int, what: str, early=False, must=False, late=LATE) -> None:
        """In the first gap from `want` on (`early`: or the nearest before it in the step that
        leads up to `want`, if closer).

        A line that would land more than `late` after its time is left out, unless it `must`
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
        if at is None:
            self.notes.append(f"{what} at {clock(want)} left out: no quiet moment near it")
            return
        if abs(at - want) > 30 * S:
            self.notes.append(f"{what} at {clock(want)} moved to {clock(at)}")
        layout.put(group, at)

    def progress(self) -> None:
        """Break each long silence in a working step with a short line tied to progress."""
        layout, spans = self.layout, self.spans
        speech = sorted((e.start, e.end) for e in layout.events if e.kind == "speech")
        k = 0
        for (_, quiet_from), (quiet_to, _) in itertools.pairwise(speech):
            t = quiet_from + QUIET
            while t < quiet_to - COACH_CLEAR:
                span = spans[layout.step_of(t) - 1]
                if span.technique in STILL:
                    t = span.end + QUIET
                    continue
                left = span.end - t
                text = ONE_MINUTE_LEFT if 45 * S <= left <= 80 * S else PROGRESS[k % len(PROGRESS)]
                said = [Item("speech", "progress", text)]
                hi = min(span.end - PAUSE, quiet_to)
                at = layout.earliest(said, t, hi, pad=COACH_CLEAR)
                if at is None:
                    t = span.end + QUIET
                    continue
                if text != ONE_MINUTE_LEFT:
                    k += 1
                t = layout.put(said, at) + QUIET

    # -- the stroke rhythm: soft ticks at the technique's tempo, under everything else --------

    def ticks(self) -> None:
        layout = self.layout
        tick_len = layout.cues.length("tick")
        for i, step in enumerate(self.scaled):
            per_minute = self.routine.techniques[step.technique].per_minute
            if not per_minute:
                continue
            period = round(60 * S / per_minute)
            t = self.opening_ends[i] + PAUSE
            while t + tick_len <= self.spans[i].end - TICK_MARGIN:
                layout.events.append(Event("cue", t, t + tick_len, step.index, "tick", name="tick"))
                t += period


def _listed(things: list[str]) -> str:
    return things[0] if len(things) == 1 else ", ".join(things[:-1]) + " or " + things[-1]


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
