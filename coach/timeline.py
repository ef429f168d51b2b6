"""The timeline: exactly what sounds when, in samples.

A `Timeline` is what the compiler produces and what preview, play and export all consume, so
the three can never disagree. Every position is an integer sample index at `SAMPLE_RATE`
(never a float of seconds, never whole milliseconds): the renderer places each clip at exactly
that sample. Pure data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# espeak-ng's native rate: speech needs no resampling, and 22.05 kHz mono carries a voice and
# soft tones well. Everything the coach renders runs at this rate.
SAMPLE_RATE = 22050

EventKind = Literal["speech", "cue"]


def clock(n: int, rate: int = SAMPLE_RATE, tenths: bool = False) -> str:
    """A sample position as m:ss (or m:ss.s); hours roll into minutes, as on a kitchen timer."""
    if tenths:
        total = round(n * 10 / rate)
        return f"{total // 600}:{total // 10 % 60:02d}.{total % 10}"
    total = round(n / rate)
    return f"{total // 60}:{total % 60:02d}"


@dataclass(frozen=True)
class Event:
    """One sound: a spoken phrase or a cue tone, from `start` up to (not including) `end`.

    `end - start` is the length of the trimmed clip, so nothing audible falls outside it.
    `step` is the index of the step the event belongs to (see `StepSpan.index`). `role` says
    why the event is there ("instruction", "reminder", "check-in", "tick", ...), for people and
    tests.
    """

    kind: EventKind
    start: int
    end: int
    step: int
    role: str
    text: str = ""  # what is said (speech)
    name: str = ""  # which sound (cue): a built-in name or a resolved file path

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class StepSpan:
    """Where one step sits on the timeline: [start, end) in samples.

    The routine's steps keep their numbers 1..n (what `--from-step` and the routine file
    count); a framed timeline adds the pre-roll as step 0 and the aftercare as step n + 1.
    """

    index: int
    title: str
    technique: str
    area: str
    start: int
    end: int


def step_at(steps: tuple[StepSpan, ...], position: int) -> StepSpan:
    """The step of `steps` (in order, tiling the session) playing at `position`."""
    for step in steps:
        if position < step.end:
            return step
    return steps[-1]


@dataclass(frozen=True)
class Timeline:
    title: str
    duration: int  # samples; steps tile [0, duration) exactly
    steps: tuple[StepSpan, ...]
    events: tuple[Event, ...]  # sorted by (start, end)
    voice: str = ""
    rate: int = 0  # words per minute
    language: str = "en"
    estimated: bool = False  # speech lengths are a words-per-minute guess, not measured
    engine: str = ""  # what speaks: "piper", "espeak-ng" or "estimate"
    sample_rate: int = SAMPLE_RATE
    notes: tuple[str, ...] = field(default=())  # things the compiler moved or had to say
    # Where the massage itself runs (the routine's steps): after the spoken pre-roll, before
    # the aftercare. None: up to `duration`.
    massage_start: int = 0
    massage_end: int | None = None
    seed: int = 0  # which of the coach's alternative lines were picked

    def __post_init__(self) -> None:
        if self.massage_end is None:
            object.__setattr__(self, "massage_end", self.duration)

    def is_massage(self, step: StepSpan) -> bool:
        """Whether `step` is one of the routine's own steps (not the pre-roll or aftercare)."""
        return self.massage_start <= step.start < self.massage_end

    def massage_steps(self) -> tuple[StepSpan, ...]:
        return tuple(s for s in self.steps if self.is_massage(s))

    def step_at(self, position: int) -> StepSpan:
        """The step playing at `position` (the last one at or past the end)."""
        return step_at(self.steps, position)

    def speech(self) -> tuple[Event, ...]:
        return tuple(e for e in self.events if e.kind == "speech")

    def to_dict(self) -> dict:
        """The machine-readable timeline (`coach preview --format json`), times in seconds."""
        sec = lambda n: round(n / self.sample_rate, 6)  # noqa: E731  (display only)
        events = []
        for e in self.events:
            item = {
                "kind": e.kind,
                "start": sec(e.start),
                "end": sec(e.end),
                "step": e.step,
                "role": e.role,
            }
            if e.kind == "speech":
                item["text"] = e.text
            else:
                item["name"] = e.name
            item["start_sample"] = e.start
            item["end_sample"] = e.end
            events.append(item)
        return {
            "title": self.title,
            "duration": sec(self.duration),
            "sample_rate": self.sample_rate,
            "duration_samples": self.duration,
            "voice": self.voice,
            "rate": self.rate,
            "language": self.language,
            "estimated": self.estimated,
            "engine": self.engine,
            "seed": self.seed,
            "massage_start": sec(self.massage_start),
            "massage_end": sec(self.massage_end),
            "massage_start_sample": self.massage_start,
            "massage_end_sample": self.massage_end,
            "steps": [
                {
                    "index": s.index,
                    "title": s.title,
                    "technique": s.technique,
                    "area": s.area,
                    "start": sec(s.start),
                    "end": sec(s.end),
                    "start_sample": s.start,
                    "end_sample": s.end,
                }
                for s in self.steps
            ],
            "events": events,
            "notes": list(self.notes),
        }
