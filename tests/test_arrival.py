"""Compiling as phrases arrive is exact: what `compile_known` calls settled is where a warm
compile puts it, whatever the phrases still missing turn out to be."""

from __future__ import annotations

import random

import pytest

from coach.script import framing
from coach.script.arrival import compile_known, order
from coach.script.compiler import compile_routine, phrases
from coach.script.routine import builtin_routines, load_routine
from coach.sound.cues import Cues
from coach.sound.speech import Estimate

ROUTINES = {p.stem: load_routine(p) for p in builtin_routines()}
CASES = [(name, minutes) for name in sorted(ROUTINES) for minutes in (None, 7, 33)]


class Lengths:
    """Every phrase's length from a fixed table (the "real" lengths of one run)."""

    engine, voice, rate = "piper", "test", 120

    def __init__(self, table):
        self.table = table

    def lengths(self, texts):
        return {t: self.table[t] for t in dict.fromkeys(texts)}


def real_lengths(routine, minutes, seed: int) -> dict[str, int]:
    """The estimate's lengths, each moved by up to 30 %: a voice that is not the estimate."""
    rng = random.Random(seed)
    texts = [*phrases(routine, minutes), *framing.phrases(routine)]
    return {t: round(n * rng.uniform(0.7, 1.3)) for t, n in Estimate().lengths(texts).items()}


def warm(routine, minutes, table):
    speech = Lengths(table)
    massage = compile_routine(routine, speech, Cues(), minutes=minutes)
    return framing.frame(massage, routine, speech)


@pytest.mark.parametrize(("name", "minutes"), CASES)
def test_each_step_is_final_once_the_next_one_is_made(name, minutes):
    """Steps up to k + 1 made, the rest given wrong lengths (half, or twice, the real): every
    event before step k + 1 is the warm compile's, and `settled` says so (or later)."""
    routine = ROUTINES[name]
    real = real_lengths(routine, minutes, seed=len(name) + (minutes or 0))
    expected = warm(routine, minutes, real)
    need = order(routine, minutes)
    assert set(need.texts()) >= set(real)  # every phrase a compile may ask for is in the order
    massage = expected.massage_steps()
    for k in range(len(massage)):
        made = [*need.pre_roll, *need.massage, *(t for g in need.steps[: k + 2] for t in g)]
        known = {t: real[t] for t in made}
        for wrong in (0.5, 2.0):
            guess = Lengths({t: round(n * wrong) for t, n in real.items()})
            timeline, until = compile_known(
                routine, known, guess, Lengths(real), Cues(), minutes=minutes
            )
            # (further when a later step says only what was made already)
            boundary = massage[k + 1].start if k + 1 < len(massage) else expected.massage_end
            assert until >= boundary
            before = [e for e in timeline.events if e.start < until]
            assert before == [e for e in expected.events if e.start < until], (k, wrong)


@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_the_pre_roll_is_final_line_by_line(name):
    routine = ROUTINES[name]
    real = real_lengths(routine, None, seed=3)
    expected = warm(routine, None, real)
    need = order(routine)
    for k in range(len(need.pre_roll) + 1):
        known = {t: real[t] for t in need.pre_roll[:k]}
        guess = Lengths({t: n * 2 for t, n in real.items()})
        timeline, until = compile_known(routine, known, guess, Lengths(real), Cues())
        said = [e for e in expected.events if e.step == 0]
        assert until == (said[k].start if k < len(said) else expected.massage_start)
        assert [e for e in timeline.events if e.start < until] == [
            e for e in expected.events if e.start < until
        ]
