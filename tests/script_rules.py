"""What a listener and a massage giver check in a compiled timeline, as small functions the
fitting and script-quality tests share."""

from __future__ import annotations

import functools
import itertools
import statistics
from collections import Counter

from coach.script.routine import Routine, find_routine, load_routine
from coach.script.spoken import sentences
from coach.script.techniques import STILL
from coach.timeline import SAMPLE_RATE as S
from coach.timeline import Timeline

COACH_LINES = {"check-in", "posture", "next", "halfway", "progress"}


def assert_timeline_rules(t: Timeline, total: int) -> None:
    """Contiguous steps, the exact length, sorted events inside their steps, no speech over
    speech and no cue over speech (rhythm ticks may sound under the voice)."""
    assert t.duration == total
    assert t.steps[0].start == 0 and t.steps[-1].end == total
    for before, after in itertools.pairwise(t.steps):
        assert before.end == after.start
    assert list(t.events) == sorted(t.events, key=lambda e: (e.start, e.end))
    sounds = [e for e in t.events if e.role != "tick"]
    for e in sounds:
        step = t.steps[e.step - 1]
        assert 0 <= e.start < e.end <= total
        assert step.start <= e.start < step.end, f"{e} outside its step"
    for a, b in itertools.pairwise(sounds):
        assert a.end <= b.start, f"{a} overlaps {b}"


def own_words(routine: Routine) -> Counter:
    """Every sentence of the routine's own instructions and reminders, with how often."""
    said = Counter()
    for step in routine.steps:
        said.update(sentences(step.say))
        said.update(r.say for r in step.reminders)
    return said


def assert_keeps_own_words(t: Timeline, routine: Routine) -> None:
    spoken = Counter(e.text for e in t.speech() if e.role in ("instruction", "reminder"))
    assert spoken == own_words(routine)


def repeated(t: Timeline, times: int = 2) -> dict[str, int]:
    """Sentences said more than `times` times."""
    counts = Counter(e.text for e in t.speech())
    return {text: n for text, n in counts.items() if n > times}


def title_echoes(t: Timeline) -> list[str]:
    """Titles said at a step's start right after "Next: <title>." announced them."""
    echoes = []
    for e in t.speech():
        if e.role == "next" and e.step < len(t.steps):
            following = t.steps[e.step]
            if any(x.role == "title" and x.step == following.index for x in t.speech()):
                echoes.append(following.title)
    return echoes


def crowded(t: Timeline, clear: int = 2 * S) -> list[str]:
    """The coach's own lines that come within `clear` of other speech."""
    speech = sorted(t.speech(), key=lambda e: e.start)
    found = []
    for k, e in enumerate(speech):
        if e.role not in COACH_LINES:
            continue
        before = speech[k - 1].end if k else -clear
        after = speech[k + 1].start if k + 1 < len(speech) else t.duration + clear
        if e.start - before < clear or after - e.end < clear:
            found.append(e.text)
    return found


def median_working_speech_share(t: Timeline) -> float:
    """The median, over the steps where the hands move, of the share of time spent talking."""
    shares = []
    for step in t.steps:
        if step.technique not in STILL:
            talk = sum(e.length for e in t.speech() if e.step == step.index)
            shares.append(talk / (step.end - step.start))
    return statistics.median(shares)


def longest_silence(t: Timeline, still_too: bool = True) -> int:
    """The longest stretch without a word (samples); `still_too=False` leaves out silences
    inside still-hands steps, where silence is the point."""
    speech = sorted(t.speech(), key=lambda e: e.start)
    gaps = [(0, speech[0].start)] + [(a.end, b.start) for a, b in itertools.pairwise(speech)]
    gaps.append((speech[-1].end, t.duration))
    longest = 0
    for a, b in gaps:
        if not still_too and t.step_at(a).technique in STILL and t.step_at(a).end >= b:
            continue
        longest = max(longest, b - a)
    return longest


BUILTINS = ("classic-back", "quick-relief", "self-massage")
SHARES = (0.5, 1.0, 3.0)  # of a built-in's own length
SEEDS = (0, 1, 2, 3)  # each phase of the coach's alternatives (most come in threes)


@functools.cache
def built(name: str, share: float, safety: bool, seed: int) -> tuple[Routine, Timeline]:
    """(routine, framed timeline) as `coach preview NAME --minutes M [--no-safety]` makes it,
    with speech lengths from words a minute (quick; order and place do not need a voice)."""
    from coach.session import SessionSpec, build

    routine = load_routine(find_routine(name))
    minutes = routine.duration * share / 60 / S
    spec = SessionSpec(name, minutes=minutes, safety=safety, seed=seed)
    return routine, build(spec, estimate=True).timeline


def massage_steps(t: Timeline) -> list:
    return [s for s in t.steps if t.massage_start <= s.start < t.massage_end]
