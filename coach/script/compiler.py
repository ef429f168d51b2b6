"""The script compiler: a `Routine` in, an exact `Timeline` out.

Pure: no files, no clocks, no processes. How long each phrase and cue lasts comes from the
`speech` and `cues` objects handed in (the real engine, or the words-per-minute estimate), so the
timeline says exactly when every sound starts and ends.

Placement rules:
- speech never overlaps speech, and cues never overlap speech (a rhythm tick may: it is mixed
  quietly under the voice);
- every step opens with its cue and its words at its very first sample;
- the routine's clock belongs to its author: only the author's own words (a step's instruction
  and its reminders) can make a routine fail, and only when they alone do not fit;
- everything the coach adds has a priority, and when time is short the lower ones are left out
  (and listed in the notes), highest first: the author's words; cautions; the first pressure
  check-in; the closing words; the pressure figure; the tempo; then "Next:", titles, later
  check-ins, posture, halfway, countdown and progress lines;
- an author's reminder that would collide is moved later, never dropped, and the move is noted;
- the parts of a step's opening are 2 s apart, and the coach's own lines keep 2.5 s clear of
  other speech, so nothing is said in one breath with something else;
- a title is said once: by "Next: ..." before its step, or at the step's start when there was
  no room for the heads-up; tempo and pressure come with a technique's first use, the tempo
  again (briefly) after a long absence, a caution at most twice and never twice within minutes;
- outside still-hands steps, no silence lasts much over two minutes: a short progress line
  breaks it.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from coach.errors import Problem, RoutineError
from coach.script.model import Routine, Step
from coach.script.safety import cautions_for
from coach.script.techniques import FLEXIBLE, PACE, SECONDS, STILL
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline, clock

S = SAMPLE_RATE
PAUSE = S  # the least silence between two separate sounds
SENTENCE_PAUSE = S // 2  # between sentences of one part
PART_PAUSE = 2 * S  # between the parts of a step's opening (narration wants 2-3 s)
AFTER_CUE = S // 2  # a chime, then the words
COACH_CLEAR = 5 * S // 2  # the coach's own lines keep this clear of other speech
HEADS_UP_LEAD = 3 * S  # "Next: ..." ends this long before its step does
SHORT_STEP = 30 * S  # on a shorter step the chime is heads-up enough
FIRST_CHECK_IN_BY = 5 * 60 * S  # the first pressure check-in, within the first five minutes
LATE = 90 * S  # a low-priority line this much past its time is left out instead
REPEAT_AFTER = 8 * 60 * S  # a tempo or caution is said again only after this long
MAX_SAYINGS = 2  # ...and a caution at most this often
QUIET = 100 * S  # a progress line after this much silence (never much over two minutes)
TICK_MARGIN = S  # rhythm ticks stop this long before a step's end

# The coach's own phrases; a routine's [phrases] table may replace each list.
CHECK_INS = (
    "Check in. Ask: how is the pressure, one to ten? Stay at six or below.",
    "Ask your partner: more pressure, less, or just right?",
    "Watch their breathing. If they tense up or hold their breath, ease off.",
    "Ask if any spot feels tender. Go lighter there.",
    "How does it feel? Ask, and adjust the pressure.",
    "Look for a wince or a held breath. Both mean: lighter.",
    "Ask: is there anywhere you'd like more time?",
    "Check the pressure again: six out of ten is plenty.",
)
POSTURE = (
    "Check your stance: feet apart, knees soft, back straight.",
    "Lean your body weight into the stroke. Don't push with your arms.",
    "Relax your shoulders, and keep breathing slowly yourself.",
    "Keep your wrists straight and your hands soft.",
    "Move your feet as you work, rather than reaching.",
    "Soften your knees, and let your weight do the work.",
    "Check your own breath: slow and easy.",
    "If you kneel, keep a cushion under your knees.",
)
NEXT = ("Next: {title}.",)
PROGRESS = (
    "Move on to a new spot, a hand's width away.",
    "Keep the same slow rhythm.",
    "Take your time. There's no hurry.",
    "Good. Keep going like this.",
    "Let your hands follow the shape of the back.",
    "Breathe out slowly, and let the work flow.",
    "Notice where it feels tight, and linger there.",
)
ONE_MINUTE_LEFT = "About a minute more here."
SESSION_END = ("That's the end of the session. Let them rest a moment, there's no rush.",)
SELF_SESSION_END = ("That's the end of the session. Rest a moment, there's no rush.",)


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


@dataclass(frozen=True)
class _Part:
    """One part of a step's opening: what it says, how much it matters, how notes name it."""

    role: str
    sentences: tuple[str, ...]
    priority: int  # 0: the author's; lower numbers win the room
    what: str = ""
    source: str = ""  # a caution as written


def sentences(text: str) -> list[str]:
    """Split narration into phrases: each is its own clip, with a short pause between.

    Phrases are sentences; a sentence of more than 25 words (about 11 s at 120 words a minute)
    is cut at its commas, semicolons and colons, joining short clauses back up to 25 words, and
    a clause still longer into even runs of at most 25 words. So no one clip is huge: a single
    unpunctuated 500-word clip took 484 MB to normalize, 5000 words 3.86 GB.
    """
    limit = 25
    phrases: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        if len(sentence.split()) <= limit:
            phrases += [sentence] if sentence else []
            continue
        run: list[str] = []
        for clause in re.split(r"(?<=[,;:])\s+", sentence):
            words = clause.split()
            if run and len(run) + len(words) > limit:
                phrases.append(" ".join(run))
                run = []
            while len(words) > limit:  # even runs: 60 words make 20 + 20 + 20, not 25 + 25 + 10
                size = -(-len(words) // -(-len(words) // limit))
                phrases.append(" ".join(words[:size]))
                words = words[size:]
            run += words
        phrases.append(" ".join(run))
    return phrases


def _cautions(routine: Routine, i: int) -> tuple[str, ...]:
    """The cautions step `i` (0-based) opens with: its technique's where it is first used, and
    those its place calls for (safety.py decides which)."""
    return cautions_for(routine, i)


# ---------------------------------------------------------------------------------------------
# Lengths: what each step's own words need, and --minutes.


def _own_group(step: Step) -> list[_Item]:
    """What a step must say at its start: its cue and its instruction."""
    return _group(step.cue, [_Part("instruction", tuple(sentences(step.say)), 0)])


def _span(group: Sequence[_Item], lengths: Mapping[str, int], cues: CueLengths) -> int:
    if not group:
        return 0
    sizes = [lengths[i.text] if i.kind == "speech" else cues.length(i.name) for i in group]
    return sum(n + i.gap for n, i in zip(sizes[:-1], group, strict=False)) + sizes[-1]


def _overruns(step: Step, length: int, lengths, cues) -> list[int | None]:
    """Where the step's own words overrun a step of `length` samples: None for the opening,
    k for its k-th reminder (0-based); empty when they fit.

    Mirrors the layout: the reminders at their (scaled) times or later, a pause after each
    sound, and a pause before the next step's first sound.
    """
    return _overruns_after(step, length, _span(_own_group(step), lengths, cues), lengths)


def _overruns_after(step: Step, length: int, opening: int, lengths) -> list[int | None]:
    if opening + PAUSE > length:
        return [None]
    t, late = opening, []
    for k, r in enumerate(step.reminders):
        want = round(r.at * length / step.duration)
        t = max(t + PAUSE, want) + lengths[r.say]
        if t + PAUSE > length:
            late.append(k)
    return late


def _floor(step: Step, lengths, cues) -> int:
    """The shortest length (samples) that holds the step's own words."""
    opening = _span(_own_group(step), lengths, cues)
    lo, hi = 0, max(step.duration, S)
    while _overruns_after(step, hi, opening, lengths):
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # lo does not fit, hi does
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if _overruns_after(step, mid, opening, lengths) else (lo, mid)
    return hi


class _KnownCues:
    """A cue's length asked once: a routine of 2000 steps asks some 50 000 times, and each
    ask reads the sound's file header (15 s in all, measured)."""

    def __init__(self, cues: CueLengths):
        self.cues = cues
        self.known: dict[str, int] = {}

    def length(self, name: str) -> int:
        if name not in self.known:
            self.known[name] = self.cues.length(name)
        return self.known[name]


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


def _minutes_needed(floors: Sequence[int]) -> int:
    return max(1, -(-sum(floors) // (60 * S)))


def phrases(routine: Routine, minutes: float | None = None) -> list[str]:
    """Every text `compile_routine` may ask the speech engine for, to be made in one batch."""
    return _Words(routine, _total(routine, minutes)).candidates()


def _total(routine: Routine, minutes: float | None) -> int:
    """The massage's length in samples: `minutes` when given, else the routine's own."""
    return round(minutes * 60 * S) if minutes is not None else routine.duration


def shortest_minutes(
    routine: Routine, speech: SpeechLengths, cues: CueLengths, **options
) -> int | None:
    """The fewest whole minutes `routine` can be scaled to with all its own words.

    `--minutes` shares time out by what each step's own words need, so this is their sum,
    rounded up: no trial compiles, no new phrases.
    """
    cues = _KnownCues(cues)
    texts = [i.text for s in routine.steps for i in _own_group(s) if i.text]
    lengths = speech.lengths(
        dict.fromkeys(texts + [r.say for s in routine.steps for r in s.reminders])
    )
    return _minutes_needed([_floor(s, lengths, cues) for s in routine.steps])


# ---------------------------------------------------------------------------------------------
# Layout


class _Layout:
    """The sounds placed so far, as sorted disjoint busy intervals (ticks are not tracked: they
    mix). Finding a gap is a bisection: with a linear scan per placement, previewing 2000 steps
    took about 120 s; now about 0.65 s of CPU, most of it reading the file."""

    def __init__(self, lengths: Mapping[str, int], cues: CueLengths, spans: Sequence[StepSpan]):
        self.lengths = lengths
        self.cues = cues
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.events: list[Event] = []
        self.step_starts = [s.start for s in spans]

    def span(self, group: Sequence[_Item]) -> int:
        return _span(group, self.lengths, self.cues)

    def step_of(self, t: int) -> int:
        return bisect.bisect_right(self.step_starts, t)  # 1-based

    def free(self, start: int, end: int, pad: int) -> tuple[int, int] | None:
        """The first placed sound within `pad` of [start, end), if any."""
        j = bisect.bisect_right(self.ends, start - pad)
        if j < len(self.starts) and self.starts[j] < end + pad:
            return self.starts[j], self.ends[j]
        return None

    def put(self, group: Sequence[_Item], start: int) -> int:
        """Place `group` from `start`; returns where it ends."""
        t = start
        for item in group:
            n = self.lengths[item.text] if item.kind == "speech" else self.cues.length(item.name)
            self.events.append(
                Event(
                    item.kind, t, t + n, self.step_of(t), item.role, text=item.text, name=item.name
                )
            )
            k = bisect.bisect_left(self.starts, t)
            self.starts.insert(k, t)
            self.ends.insert(k, t + n)
            t += n + item.gap
        return t - group[-1].gap

    def earliest(self, group, at: int, hi: int, pad: int = PAUSE) -> int | None:
        """The earliest start >= `at` where `group` fits, ending by `hi`, or None."""
        n = self.span(group)
        s = at
        while s + n <= hi:
            hit = self.free(s, s + n, pad)
            if hit is None:
                return s
            s = hit[1] + pad
        return None

    def latest(self, group, end_by: int, lo: int, pad: int = PAUSE) -> int | None:
        """The latest start >= `lo` where `group` fits and ends by `end_by`, or None."""
        n = self.span(group)
        s = end_by - n
        while s >= lo:
            hit = self.free(s, s + n, pad)
            if hit is None:
                return s
            s = hit[0] - pad - n
        return None


# ---------------------------------------------------------------------------------------------
# The compiler


def compile_routine(
    routine: Routine,
    speech: SpeechLengths,
    cues: CueLengths,
    minutes: float | None = None,
    ticks: bool | None = None,
    editable: bool = True,
) -> Timeline:
    """Lay out every sound of `routine` on a timeline.

    `minutes` rescales the routine to that length; `ticks` overrides the routine's coaching
    setting for the rhythm tick. The safety words before the massage are not the compiler's:
    framing.py adds them around the compiled massage. Raises `RoutineError` when
    the routine's own words cannot fit; `editable` says whether its author can change them (a
    problem then says what to change in the file).
    """
    coaching = routine.coaching
    ticks = coaching.ticks if ticks is None else ticks
    cues = _KnownCues(cues)
    total = _total(routine, minutes)
    words = _Words(routine, total)
    lengths = speech.lengths(words.candidates())  # one call: the engine parallelizes
    floors = [_floor(s, lengths, cues) for s in routine.steps]
    if minutes is None:
        _check_own_words(routine, lengths, cues, floors, editable)
        steps = routine.steps
    else:
        if sum(floors) > total:
            raise RoutineError(_too_short(routine, floors, total))
        # The closing gong is the coach's, not a floor: wished for, kept when there is time.
        wishes = [*floors[:-1], floors[-1] + cues.length("gong") + PAUSE]
        steps = scale_steps(routine.steps, total, floors, wishes)

    starts = [0]
    for step in steps:
        starts.append(starts[-1] + step.duration)
    spans = tuple(
        StepSpan(s.index, s.title, s.technique, s.area, starts[i], starts[i] + s.duration)
        for i, s in enumerate(steps)
    )
    fitter = _Fitter(routine, steps, spans, words, _Layout(lengths, cues, spans))
    fitter.place_steps()
    fitter.coach_lines()
    if ticks:
        fitter.ticks()
    layout = fitter.layout
    return Timeline(
        title=routine.title,
        duration=total,
        steps=spans,
        events=tuple(sorted(layout.events, key=lambda e: (e.start, e.end))),
        voice=speech.voice,
        rate=speech.rate,
        language=routine.language,
        estimated=speech.engine == "estimate",
        engine=speech.engine,
        notes=tuple(fitter.notes),
    )


def _check_own_words(routine: Routine, lengths, cues, floors, editable: bool) -> None:
    problems = []
    for step, floor in zip(routine.steps, floors, strict=True):
        where = f"step {step.index} ({step.title})"
        for k in _overruns(step, step.duration, lengths, cues):
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


def _too_short(routine: Routine, floors: Sequence[int], total: int) -> list[Problem]:
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


class _Words:
    """Every text the coach may say for a routine (its phrases, or the English defaults)."""

    def __init__(self, routine: Routine, total: int):
        self.routine = routine
        phrases = routine.phrases
        partner = routine.coaching.partner
        self.check_ins = tuple(phrases.get("check_ins") or CHECK_INS)
        self.posture = tuple(phrases.get("posture") or POSTURE)
        self.next = (phrases.get("next") or NEXT)[0]
        self.ending = (phrases.get("ending") or (SESSION_END if partner else SELF_SESSION_END))[0]
        custom = phrases.get("halfway")
        self.halfway = custom[0] if custom else _halfway_text(total)

    def heads_up(self, title: str) -> str:
        return self.next.replace("{title}", title)

    def pressure(self, technique) -> tuple[str, ...]:
        return tuple(sentences(technique.pressure))

    def tempo(self, technique, again: bool) -> tuple[str, ...]:
        short = PACE.get(technique.name) if again else None
        return tuple(sentences(short or technique.tempo))

    def candidates(self) -> list[str]:
        routine = self.routine
        texts: list[str] = []
        for i, step in enumerate(routine.steps):
            technique = routine.techniques[step.technique]
            texts += [f"{step.title}.", *sentences(step.say)]
            texts += [self.heads_up(step.title)] if i else []
            texts += [r.say for r in step.reminders]
            texts += [*self.pressure(technique), *self.tempo(technique, False)]
            texts += self.tempo(technique, True)
            texts += [s for c in _cautions(routine, i) for s in sentences(c)]
        texts += [*self.check_ins, *self.posture, *PROGRESS, ONE_MINUTE_LEFT]
        texts += [self.halfway, self.ending]
        return list(dict.fromkeys(texts))


class _Fitter:
    """Places one routine's sounds by priority; collects notes on what moved or was left out."""

    def __init__(self, routine, steps, spans, words: _Words, layout: _Layout):
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
        layout, span = self.layout, self.spans[i]
        last = i == len(self.scaled) - 1
        ending = [
            _Item("speech", "end", self.words.ending, gap=PAUSE),
            _Item("cue", "end", name="gong"),
        ]
        wants = [span.start + r.at for r in step.reminders]
        room = (wants[0] - PART_PAUSE) if wants else span.end - PAUSE
        room = min(room, span.end - PAUSE)
        reserve = layout.span(ending) + PART_PAUSE if last else 0
        check_in = [_Item("speech", "check-in", self.words.check_ins[0])]
        due = self.first_check_in is not None and self.first_check_in < span.end
        if due:
            reserve += layout.span(check_in) + 2 * COACH_CLEAR

        parts, left_out = self.opening(i, step, room, reserve)
        group = _group(step.cue, parts)
        end = layout.put(group, span.start)
        self.opening_ends.append(end)
        for p in parts:
            self.remember(p, span.start, step.technique)

        for r, want in zip(step.reminders, wants, strict=True):
            said = [_Item("speech", "reminder", r.say)]
            at = layout.earliest(said, want, span.end - PAUSE)
            # (_check_own_words and scale_steps make sure it fits)
            if at - want >= S:
                self.notes.append(
                    f"step {step.index}: reminder at {clock(r.at)} moved to "
                    f"{clock(at - span.start)} to keep clear of other speech"
                )
            end = max(end, layout.put(said, at))

        if last:
            at = layout.latest(ending, self.duration, end, pad=PART_PAUSE)
            if at is None:
                ending = ending[1:]
                at = layout.latest(ending, self.duration, end)
                left_out.append("the closing words")
            if at is None:
                left_out.append("the closing gong")
            else:
                layout.put(ending, at)

        if due:  # in this step (the next one is not laid out yet), else with the coach's lines
            want, end_by = self.first_check_in, span.end - COACH_CLEAR
            at = layout.earliest(check_in, want, end_by, pad=COACH_CLEAR)
            if at is None:
                before = min(end_by, want + layout.span(check_in))
                at = layout.latest(check_in, before, span.start, pad=COACH_CLEAR)
            if at is not None:
                layout.put(check_in, at)
                self.first_check_in = None

        self.announced = False
        if not last and self.coaching.heads_up and step.duration >= SHORT_STEP:
            following = self.scaled[i + 1]
            said = [_Item("speech", "next", self.words.heads_up(following.title))]
            at = layout.latest(said, span.end - HEADS_UP_LEAD, end, pad=COACH_CLEAR)
            if at is None:
                left_out.append('"Next: ..."')
            else:
                layout.put(said, at)
                self.announced = True
        if left_out:
            self.notes.append(f"step {step.index}: no room for {_listed(left_out)}")

    def opening(self, i: int, step: Step, room: int, reserve: int):
        """The parts step `i` opens with, and what was left out for want of room.

        The author's instruction always; then, highest priority first, each part the coach
        would add while the opening still ends by `room` (less `reserve` for parts below the
        closing words' priority).
        """
        coaching, technique = self.coaching, self.routine.techniques[step.technique]
        start = self.spans[i].start
        wanted = [_Part("instruction", tuple(sentences(step.say)), 0)]

        def fresh(texts) -> tuple[str, ...]:
            return tuple(t for t in texts if self.may_repeat(t, start))

        if coaching.cautions:
            # A caution with no room at a technique's first use waits for its next use.
            waiting = self.waiting.pop(technique.name, ())
            for c in dict.fromkeys([*waiting, *_cautions(self.routine, i)]):
                if said := fresh(sentences(c)):
                    wanted.append(_Part("caution", said, 2, "a caution", source=c))
            if technique.name not in self.pressure_said:
                said = fresh(self.words.pressure(technique))
                wanted.append(_Part("pressure", said, 4, "the pressure"))
        if coaching.tempo:
            last = self.tempo_at.get(technique.name)
            if last is None or start - last >= REPEAT_AFTER:
                said = fresh(self.words.tempo(technique, again=last is not None))
                wanted.append(_Part("tempo", said, 5, "the tempo"))
        if not self.announced:
            wanted.append(_Part("title", (f"{step.title}.",), 6, "the title"))

        order = ("title", "instruction", "pressure", "tempo", "caution")
        chosen: list[_Part] = []
        left_out = []
        for part in sorted(wanted, key=lambda p: p.priority):
            if not part.sentences:  # all of it said lately: nothing to say, nothing missed
                self.remember(part, start, technique.name)
                continue
            trial = sorted([*chosen, part], key=lambda p: order.index(p.role))
            limit = room - (reserve if part.priority > 3 else 0)
            if part.priority == 0 or start + self.layout.span(_group(step.cue, trial)) <= limit:
                chosen = trial
            elif part.role != "title":  # a title is only a courtesy: no note
                left_out.append(part.what)
                if part.role == "caution":
                    self.waiting.setdefault(technique.name, []).append(part.source)
        return chosen, list(dict.fromkeys(left_out))

    def may_repeat(self, sentence: str, at: int) -> bool:
        times = self.said.get(sentence, [])
        return len(times) < MAX_SAYINGS and all(at - t >= REPEAT_AFTER for t in times)

    def remember(self, part: _Part, at: int, name: str) -> None:
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
            self.place([_Item("speech", "check-in", text)], t, "pressure check-in", first, first)
        if coaching.halfway and duration >= 4 * 60 * S:
            halfway = [
                _Item("cue", "halfway", name="bell", gap=AFTER_CUE),
                _Item("speech", "halfway", self.words.halfway),
            ]
            self.place(halfway, duration // 2, "halfway cue", early=True)
        if coaching.posture_every:
            times = _every(coaching.posture_every, coaching.posture_every, duration)
            for k, t in enumerate(times):
                text = self.words.posture[k % len(self.words.posture)]
                self.place([_Item("speech", "posture", text)], t, "posture reminder")
        if coaching.countdown and duration >= 8 * 60 * S:  # short sessions need no countdown
            for left in (2, 1):
                t = duration - left * 60 * S
                if t > duration // 2:
                    tone = [_Item("cue", "countdown", name="countdown")]
                    self.place(tone, t, "countdown tone", early=True, late=20 * S)
        self.progress()

    def place(self, group, want: int, what: str, early=False, must=False, late=LATE) -> None:
        """In the first gap from `want` on (`early`: or the nearest before, if closer).

        A line that would land more than `late` after its time is left out, unless it `must`
        be said: then it takes the first gap there is. Speech keeps COACH_CLEAR from other
        speech; a tone only needs a pause.
        """
        layout = self.layout
        pad = COACH_CLEAR if any(i.kind == "speech" for i in group) else PAUSE
        hi = self.duration if must else min(self.duration, want + late + layout.span(group))
        at = layout.earliest(group, want, hi, pad=pad)
        if early:
            lo = max(0, want - late)
            before = layout.latest(group, want + layout.span(group), lo, pad=pad)
            if before is not None and (at is None or want - before < at - want):
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
                said = [_Item("speech", "progress", text)]
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


def _group(cue: str | None, parts: Sequence[_Part]) -> list[_Item]:
    """A step's opening as one group: the cue, then each part's sentences, 2 s between parts
    (the tempo folds onto the pressure figure, a short pause apart)."""
    group = [_Item("cue", "step", name=cue, gap=AFTER_CUE)] if cue else []
    for k, part in enumerate(parts):
        after = parts[k + 1].role if k + 1 < len(parts) else None
        for j, text in enumerate(part.sentences):
            folded = j + 1 < len(part.sentences) or (part.role, after) == ("pressure", "tempo")
            group.append(
                _Item("speech", part.role, text, gap=SENTENCE_PAUSE if folded else PART_PAUSE)
            )
    return group


def _listed(things: list[str]) -> str:
    return things[0] if len(things) == 1 else ", ".join(things[:-1]) + " or " + things[-1]


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
