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
- where the hands work (when the instruction does not say it) and the cautions of that place
  come in every step there, before the instruction and within its first 10 s: they may move
  the author's reminders later, and scaling keeps room for them while it can;
- everything the coach adds has a priority, and when time is short the lower ones are left out
  (and listed in the notes), highest first: the author's words; where to work and the cautions
  of the place; a technique's own cautions; the first pressure
  check-in; the closing words; the pressure figure; the tempo; then "Next:", titles, later
  check-ins, posture, halfway, countdown and progress lines;
- an author's reminder that would collide is moved later, never dropped, and the move is noted;
- the parts of a step's opening are 2 s apart (its sentences, and what follows the title,
  1 s), and the coach's own lines keep 2.5 s clear of other speech, so nothing is said in one
  breath with something else;
- a title is said once: by "Next: ..." before its step, or at the step's start when there was
  no room for the heads-up; tempo and pressure come with a technique's first use, the tempo
  again (briefly) after a long absence, a technique's own caution at most twice and never twice
  within minutes;
- outside still-hands steps, no silence lasts much over two minutes: a short progress line
  breaks it;
- pacing (pacing.py): a step opens with at most about 12 s of speech, the pressure figure and
  tempo waiting for quiet hands when more would follow; no line of the coach's nearly repeats
  another in its step; titles are said as a guide says them; the closing words are wished for
  when scaling; the halfway line says the time left where it lands; check-ins, posture and
  progress lines only in the work where they make sense (coach_lines.py).
"""

from __future__ import annotations

from coach.errors import RoutineError
from coach.script.fitter import Fitter, safety_parts
from coach.script.layout import PART_PAUSE, PAUSE, CueLengths, KnownCues, Layout, SpeechLengths
from coach.script.model import Routine
from coach.script.scaling import (
    check_own_words,
    minutes_needed,
    own_floor,
    own_group,
    scale_steps,
    too_short,
)
from coach.script.spoken import Words
from coach.timeline import SAMPLE_RATE, StepSpan, Timeline


def phrases(routine: Routine, minutes: float | None = None, seed: int = 0) -> list[str]:
    """Every text `compile_routine` may ask the speech engine for, to be made in one batch."""
    return Words(routine, _total(routine, minutes), seed).candidates()


def _total(routine: Routine, minutes: float | None) -> int:
    """The massage's length in samples: `minutes` when given, else the routine's own."""
    return round(minutes * 60 * SAMPLE_RATE) if minutes is not None else routine.duration


def shortest_minutes(
    routine: Routine, speech: SpeechLengths, cues: CueLengths, **options
) -> int | None:
    """The fewest whole minutes `routine` can be scaled to with all its own words.

    Scaling shares time out by what each step's own words need, so this is their sum,
    rounded up: no trial compiles, no new phrases.
    """
    cues = KnownCues(cues)
    texts = [i.text for s in routine.steps for i in own_group(s) if i.text]
    lengths = speech.lengths(
        dict.fromkeys(texts + [r.say for s in routine.steps for r in s.reminders])
    )
    return minutes_needed([own_floor(s, lengths, cues) for s in routine.steps])


def _wishes(routine: Routine, words: Words, lengths, cues) -> list[int]:
    """What each step would like when scaled: where to work, its cautions, and on the last
    step the closing words and gong are the coach's, not a floor, but kept while there is
    time (the last words of a massage come near its end)."""
    ending = PART_PAUSE + lengths[words.ending] + PAUSE + cues.length("gong")
    last = len(routine.steps) - 1
    return [
        own_floor(s, lengths, cues, safety_parts(routine, words, i), ending * (i == last))
        for i, s in enumerate(routine.steps)
    ]


def compile_routine(
    routine: Routine,
    speech: SpeechLengths,
    cues: CueLengths,
    minutes: float | None = None,
    ticks: bool | None = None,
    editable: bool = True,
    seed: int = 0,
) -> Timeline:
    """Lay out every sound of `routine` on a timeline.

    `minutes` rescales the routine to that length; `ticks` overrides the routine's coaching
    setting for the rhythm tick. The safety words before the massage are not the compiler's:
    framing.py adds them around the compiled massage. Raises `RoutineError` when
    the routine's own words cannot fit; `editable` says whether its author can change them (a
    problem then says what to change in the file). `seed` picks among the coach's
    alternatives for its own lines (the same seed, the same timeline).
    """
    coaching = routine.coaching
    ticks = coaching.ticks if ticks is None else ticks
    cues = KnownCues(cues)
    total = _total(routine, minutes)
    words = Words(routine, total, seed)
    lengths = speech.lengths(words.candidates())  # one call: the engine parallelizes
    floors = [own_floor(s, lengths, cues) for s in routine.steps]
    if minutes is None:
        check_own_words(routine, lengths, cues, floors, editable)
        steps = routine.steps
    else:
        if sum(floors) > total:
            raise RoutineError(too_short(routine, floors, total))
        steps = scale_steps(routine.steps, total, floors, _wishes(routine, words, lengths, cues))

    starts = [0]
    for step in steps:
        starts.append(starts[-1] + step.duration)
    spans = tuple(
        StepSpan(s.index, s.title, s.technique, s.area, starts[i], starts[i] + s.duration)
        for i, s in enumerate(steps)
    )
    fitter = Fitter(routine, steps, spans, words, Layout(lengths, cues, spans))
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
        seed=seed,
    )
