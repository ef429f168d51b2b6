"""The fitter: one routine's sounds placed by priority on its layout, with notes on what moved
or was left out. The rules it follows are in compiler.py's docstring."""

from __future__ import annotations

from coach.script.coach_lines import COACH_CLEAR, FIRST_CHECK_IN_BY, CoachLines, every
from coach.script.layout import PART_PAUSE, PAUSE, Item, Layout, Part, S, step_group
from coach.script.model import Step
from coach.script.pacing import LATER, OPENING, QUIET, near_duplicate
from coach.script.scaling import overruns_after
from coach.script.spoken import Words, sentences
from coach.script.techniques import STILL
from coach.timeline import Event, clock

HEADS_UP_LEAD = 3 * S  # "Next: ..." ends this long before its step does
SHORT_STEP = 30 * S  # on a shorter step the chime is heads-up enough
REPEAT_AFTER = 8 * 60 * S  # a tempo or technique's caution is said again only after this long
MAX_SAYINGS = 2  # ...and a technique's own caution at most this often
TICK_MARGIN = S  # rhythm ticks stop this long before a step's end


class Fitter(CoachLines):
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
        check_ins = every(self.coaching.check_in_first, self.coaching.check_in_every, self.duration)
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
        due = due and step.technique not in STILL  # still hands: the next working step asks
        if due:
            reserve += layout.span(check_in) + 2 * COACH_CLEAR

        parts, left_out = self.opening(i, step, room, reserve)
        end, dropped = self.open(step, span, parts, room - reserve)
        self.opening_ends.append(end)
        left_out += [p.what for p in dropped]
        for p in parts:
            if p not in dropped:
                self.remember(p, span.start, step.technique)
        end = self.reminders(step, span, wants, end)
        if last:
            self.ending(ending, end, left_out)
        if due:  # in this step (the next one is not laid out yet), else with the coach's lines
            self.step_check_in(i, span)
        self.announced = False
        if not last and self.coaching.heads_up and step.duration >= SHORT_STEP:
            self.heads_up(i, end, left_out)
        if left_out:
            self.notes.append(f"step {step.index}: no room for {_listed(left_out)}")

    def open(self, step: Step, span, parts: list[Part], end_by: int) -> tuple[int, list[Part]]:
        """Lay out the opening `parts` from the step's first sample; returns where the part
        that opens it ends, and the parts left out. When they would talk for more than
        OPENING, the pressure figure and the tempo come after LATER of quiet hands (at least
        QUIET), by `end_by`, or not at all: stacked on, they are a form read out."""
        layout = self.layout
        head = [p for p in parts if p.role not in ("pressure", "tempo")]
        tail = [p for p in parts if p.role in ("pressure", "tempo")]
        talk = sum(self.layout.lengths[t] for p in parts for t in p.sentences)
        if talk <= OPENING or not tail:
            return layout.put(step_group(step.cue, parts), span.start), []
        end = layout.put(step_group(step.cue, head), span.start)
        later = step_group(None, tail)
        at = layout.earliest(later, end + LATER, end_by, pad=PART_PAUSE)
        if at is None:
            at = layout.earliest(later, end + QUIET, end_by, pad=PART_PAUSE)
        if at is None:
            return end, tail
        layout.put(later, at)
        return end, []

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

    def step_check_in(self, i: int, span) -> None:
        """The first pressure check-in, at its time or the nearest room before it, in words
        that fit step `i` (the first in turn, else the shortest that asks about pressure)."""
        layout = self.layout
        fitting = self.fitting("check-in", self.words.check_ins, 0, i, self.first_check_in)
        for text in fitting[:1] + self.shortest(fitting[1:]):
            check_in = [Item("speech", "check-in", text)]
            want, end_by = max(self.first_check_in, span.start), span.end - COACH_CLEAR
            at = layout.earliest(check_in, want, end_by, pad=COACH_CLEAR)
            if at is None:
                before = min(end_by, want + layout.span(check_in))
                at = layout.latest(check_in, before, span.start, pad=COACH_CLEAR)
            if at is not None:
                layout.put(check_in, at)
                self.first_check_in = None
                return

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
        technique = self.routine.techniques[step.technique]
        start = self.spans[i].start
        wanted = self.wanted(i, step, start)
        order = ("title", "caution", "place", "instruction", "pressure", "tempo")
        chosen: list[Part] = []
        left_out = []
        for part in sorted(wanted, key=lambda p: p.priority):
            if not part.sentences:  # all of it said lately: nothing to say, nothing missed
                self.remember(part, start, technique.name)
                continue
            trial = sorted([*chosen, part], key=lambda p: _rank(order, p))
            limit = room - (reserve if part.priority > 3 else 0)
            n = self.layout.span(step_group(step.cue, trial))
            # Where to work and its cautions may move the author's reminders later; the rest
            # waits for room before the first of them.
            fits = start + n <= limit
            if part.priority == 1:
                fits = not overruns_after(step, step.duration, n, self.layout.lengths)
            if part.priority == 0 or fits:
                chosen = trial
            elif part.role != "title":  # a title is only a courtesy: no note
                left_out.append(part.what)
                if part.role == "caution":
                    self.waiting.setdefault(technique.name, []).append(part.source)
        if any(p.role == "title" for p in chosen) and self.words.title_says_where(step):
            chosen = [p for p in chosen if p.role != "place"]  # said once is enough
        return chosen, list(dict.fromkeys(left_out))

    def wanted(self, i: int, step: Step, start: int) -> list[Part]:
        """Every part step `i` would open with, given room: its instruction, where to work and
        its cautions, its technique's own cautions, pressure figure and tempo when due and
        fresh (not echoing the step's own words), its title unless "Next: ..." said it."""
        coaching, technique = self.coaching, self.routine.techniques[step.technique]
        wanted = [Part("instruction", tuple(sentences(step.say)), 0)]
        wanted += safety_parts(self.routine, self.words, i)
        own = [t for p in wanted for t in p.sentences] + [r.say for r in step.reminders]

        def fresh(texts) -> tuple[str, ...]:
            return tuple(
                t
                for t in texts
                if self.may_repeat(t, start) and not any(near_duplicate(t, o) for o in own)
            )

        if coaching.cautions:
            # A technique's own caution with no room at its first use waits for its next use.
            waiting = self.waiting.pop(technique.name, ())
            for c in dict.fromkeys([*waiting, *self.words.own_cautions[i]]):
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
            wanted.append(Part("title", (self.words.title(step),), 6, "the title"))
        return wanted

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


def safety_parts(routine, words: Words, i: int) -> list[Part]:
    """What step `i` says before its instruction to keep the hands safe, every time: where
    they work (when the instruction does not say it) and the cautions of that place."""
    line = words.places[i]
    parts = [Part("place", (line,), 1, "where to work")] if line else []
    said = [s for c in words.cautions[i] for s in sentences(c)] if routine.coaching.cautions else []
    if said:  # one part: its sentences a short pause apart, so each comes within 10 s
        parts.append(Part("caution", tuple(said), 1, "a caution", source=" ".join(said)))
    return parts


def _rank(order: tuple[str, ...], part: Part) -> float:
    """Where `part` goes in an opening: a technique's own caution (priority 2, not of the
    place) right after the instruction, so the place's come first and the hands start soon."""
    if part.role == "caution" and part.priority > 1:
        return order.index("instruction") + 0.5
    return order.index(part.role)


def _listed(things: list[str]) -> str:
    return things[0] if len(things) == 1 else ", ".join(things[:-1]) + " or " + things[-1]
