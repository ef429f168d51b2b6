"""Compiling while the phrases arrive: the order a session needs its phrases in, and how much
of a timeline compiled from the phrases made so far is final.

Pure. The session is laid out by the very compiler and framing a warm build uses, with each
phrase not made yet given a guessed length; `compile_known` returns that timeline and the
sample before which it is `settled`: every event starting there is where a warm compile puts
it, whatever the phrases still missing turn out to be. What makes that so:

- the pre-roll is said line after line from a fixed start, so each line's start needs only the
  lines before it;
- the massage's steps have fixed spans: the routine's own, or scaled by the steps' own words,
  where they work and their places' cautions and the closing words (which come first in the
  order, with the coach's own lines, for the same reason);
- the fitter lays step k out from its own phrases and those of step k + 1 ("Next: ...", said
  in step k), so once steps up to k + 1 are made, everything before step k + 1 is final
  (tests/test_arrival.py proves it on every built-in, with wrong lengths for the rest);
- the aftercare follows the massage's fixed end, line after line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from coach.script import framing
from coach.script.compiler import compile_routine
from coach.script.model import Routine
from coach.script.safety import aftercare, pre_roll
from coach.script.spoken import Words, sentences
from coach.timeline import SAMPLE_RATE, Timeline


@dataclass(frozen=True)
class Order:
    """A session's phrases grouped in the order it needs them (see `order`)."""

    pre_roll: tuple[str, ...]  # one line after another
    massage: tuple[str, ...]  # every step's own words and the coach's own lines
    steps: tuple[tuple[str, ...], ...]  # what else each step may say, step by step
    aftercare: tuple[str, ...]

    def texts(self) -> list[str]:
        """Every phrase once, in the order needed."""
        return list(
            dict.fromkeys([*self.pre_roll, *self.massage, *_flat(self.steps), *self.aftercare])
        )


def _flat(groups: Iterable[Iterable[str]]) -> list[str]:
    return [t for g in groups for t in g]


def order(
    routine: Routine, minutes: float | None = None, screening: bool = True, seed: int = 0
) -> Order:
    """The phrases of a session in the order it needs them: the pre-roll line by line, then
    what fixes the massage's spans and the coach's lines that any step
    may hold, then what else each step may say, step by step, then the aftercare."""
    total = round(minutes * 60 * SAMPLE_RATE) if minutes is not None else routine.duration
    words = Words(routine, total, seed)
    # What fixes the spans of a scaled massage (compiler._wishes): each step's own words,
    # where it works and its place's cautions, and the closing words (a coach text).
    spans = [
        s
        for i, step in enumerate(routine.steps)
        for s in [
            *sentences(step.say),
            *(r.say for r in step.reminders),
            words.places[i],
            *(said for c in words.cautions[i] for said in sentences(c)),
        ]
        if s
    ]
    return Order(
        tuple(line.text for line in pre_roll(routine, screening)),
        tuple(dict.fromkeys([*spans, *words.coach_texts()])),
        tuple(tuple(words.step_texts(i)) for i in range(len(routine.steps))),
        tuple(line.text for line in aftercare(routine)),
    )


class _Lengths:
    """The lengths made so far, and a guess for the rest (the words-a-minute estimate)."""

    def __init__(self, known: Mapping[str, int], guess, speech):
        self.known, self.guess = known, guess
        self.voice, self.rate, self.engine = speech.voice, speech.rate, speech.engine

    def lengths(self, texts: Iterable[str]) -> dict[str, int]:
        texts = list(dict.fromkeys(texts))
        guessed = self.guess.lengths([t for t in texts if t not in self.known])
        return {t: self.known[t] if t in self.known else guessed[t] for t in texts}


def compile_known(
    routine: Routine,
    known: Mapping[str, int],
    guess,
    speech,
    cues,
    *,
    minutes: float | None = None,
    screening: bool = True,
    ticks: bool | None = None,
    editable: bool = True,
    seed: int = 0,
) -> tuple[Timeline, int]:
    """The framed timeline from the phrase lengths `known` (the rest from `guess`, a
    SpeechLengths), and the sample before which it is final. `speech` names the voice, rate
    and engine. Raises RoutineError as compile_routine does (on guessed lengths, too)."""
    lengths = _Lengths(known, guess, speech)
    massage = compile_routine(
        routine, lengths, cues, minutes=minutes, ticks=ticks, editable=editable, seed=seed
    )
    timeline = framing.frame(massage, routine, lengths, screening=screening)
    return timeline, settled(timeline, order(routine, minutes, screening, seed), known)


def settled(timeline: Timeline, needed: Order, known: Mapping[str, int]) -> int:
    """The sample before which `timeline`, compiled from `known` lengths, is final."""
    for e in timeline.events:  # the pre-roll: up to its first line not made yet
        if e.start >= timeline.massage_start:
            break
        if e.kind == "speech" and e.text not in known:
            return e.start
    if any(t not in known for t in needed.massage):
        return timeline.massage_start
    ready = 0  # steps whose phrases are all made, from the first on
    while ready < len(needed.steps) and all(t in known for t in needed.steps[ready]):
        ready += 1
    massage = timeline.massage_steps()
    if ready < len(massage):  # steps before the last one made are final
        return massage[max(ready - 1, 0)].start
    after = itertools.takewhile(
        lambda e: e.start >= timeline.massage_end, reversed(timeline.events)
    )
    missing = [e.start for e in after if e.kind == "speech" and e.text not in known]
    return min(missing, default=timeline.duration)  # the aftercare: to its first line not made


def needed_at(timeline: Timeline, need: Order) -> dict[str, int]:
    """Each phrase's deadline: the sample where the part of `timeline` that is final stops
    without it, read from a timeline compiled with guessed lengths (an estimate before start)."""
    at: dict[str, int] = {}
    said = [e for e in timeline.events if e.kind == "speech"]
    for e in said:
        if e.step == timeline.steps[0].index and e.text in need.pre_roll:
            at.setdefault(e.text, e.start)
    for text in need.massage:
        at.setdefault(text, timeline.massage_start)
    massage = timeline.massage_steps()
    for k, texts in enumerate(need.steps):  # step k + 1's phrases settle step k
        for text in texts:
            at.setdefault(text, massage[max(k - 1, 0)].start)
    for e in said:
        if e.start >= timeline.massage_end:
            at.setdefault(e.text, e.start)
    return at
