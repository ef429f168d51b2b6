"""The layout of a routine's sounds: groups of items placed as a unit (a chime, then words),
and the busy intervals placed so far, to find the first or last gap a group fits in."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from coach.timeline import SAMPLE_RATE, Event, StepSpan

S = SAMPLE_RATE
PAUSE = S  # the least silence between two separate sounds
SENTENCE_PAUSE = S  # between sentences of one part: 0.5 s ran them together
PART_PAUSE = 2 * S  # between the parts of a step's opening (narration wants 2-3 s)
AFTER_CUE = S // 2  # a chime, then the words


class SpeechLengths(Protocol):
    voice: str
    rate: int

    def lengths(self, texts: Iterable[str]) -> Mapping[str, int]: ...


class CueLengths(Protocol):
    def length(self, name: str) -> int: ...


@dataclass(frozen=True)
class Item:
    """One sound of a group that is placed as a unit (e.g. chime + words)."""

    kind: str
    role: str
    text: str = ""
    name: str = ""
    gap: int = 0  # silence before the next item of the group


@dataclass(frozen=True)
class Part:
    """One part of a step's opening: what it says, how much it matters, how notes name it."""

    role: str
    sentences: tuple[str, ...]
    priority: int  # 0: the author's; lower numbers win the room
    what: str = ""
    source: str = ""  # a caution as written


class KnownCues:
    """A cue's length asked once: a routine of 2000 steps asks some 50 000 times, and each
    ask reads the sound's file header (15 s in all, measured)."""

    def __init__(self, cues: CueLengths):
        self.cues = cues
        self.known: dict[str, int] = {}

    def length(self, name: str) -> int:
        if name not in self.known:
            self.known[name] = self.cues.length(name)
        return self.known[name]


def group_span(group: Sequence[Item], lengths: Mapping[str, int], cues: CueLengths) -> int:
    """Samples from the start of the group's first sound to the end of its last."""
    if not group:
        return 0
    sizes = [lengths[i.text] if i.kind == "speech" else cues.length(i.name) for i in group]
    return sum(n + i.gap for n, i in zip(sizes[:-1], group, strict=False)) + sizes[-1]


_FOLDED = {("pressure", "tempo")}


def step_group(cue: str | None, parts: Sequence[Part]) -> list[Item]:
    """A step's opening as one group: the cue, then each part's sentences, 2 s between parts
    (the tempo folds onto the pressure figure, and what follows the title onto it, a
    sentence's pause apart: "Now, the shoulders." leads straight in, and a caution after it
    starts within 10 s)."""
    group = [Item("cue", "step", name=cue, gap=AFTER_CUE)] if cue else []
    for k, part in enumerate(parts):
        after = parts[k + 1].role if k + 1 < len(parts) else None
        for j, text in enumerate(part.sentences):
            folded = (
                j + 1 < len(part.sentences) or part.role == "title" or (part.role, after) in _FOLDED
            )
            group.append(
                Item("speech", part.role, text, gap=SENTENCE_PAUSE if folded else PART_PAUSE)
            )
    return group


class Layout:
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
        self.said: dict[int, list[str]] = {}  # step (1-based) -> what is said in it so far

    def span(self, group: Sequence[Item]) -> int:
        return group_span(group, self.lengths, self.cues)

    def step_of(self, t: int) -> int:
        return bisect.bisect_right(self.step_starts, t)  # 1-based

    def free(self, start: int, end: int, pad: int) -> tuple[int, int] | None:
        """The first placed sound within `pad` of [start, end), if any."""
        j = bisect.bisect_right(self.ends, start - pad)
        if j < len(self.starts) and self.starts[j] < end + pad:
            return self.starts[j], self.ends[j]
        return None

    def put(self, group: Sequence[Item], start: int) -> int:
        """Place `group` from `start`; returns where it ends."""
        t = start
        for item in group:
            n = self.lengths[item.text] if item.kind == "speech" else self.cues.length(item.name)
            step = self.step_of(t)
            self.events.append(
                Event(item.kind, t, t + n, step, item.role, text=item.text, name=item.name)
            )
            if item.text:
                self.said.setdefault(step, []).append(item.text)
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
