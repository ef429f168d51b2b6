"""Routine files: TOML text in, a validated `Routine` out, or problems with line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.techniques import Technique


@dataclass(frozen=True)
class Reminder:
    at: int  # samples after the step's start
    say: str
    line: int


@dataclass(frozen=True)
class Step:
    index: int  # 1-based
    technique: str
    area: str
    duration: int  # samples
    title: str
    say: str  # the instruction (the technique's default when the file gives none)
    cue: str | None  # built-in cue name or resolved absolute path; None: no cue (`cue = false`)
    reminders: tuple[Reminder, ...]
    line: int  # line of the step's [[steps]] header


@dataclass(frozen=True)
class Coaching:
    """The coaching behaviour: what the coach adds around the routine's own words."""

    partner: bool = True  # a partner massage (False: self-massage)
    safety_notice: bool = True
    cautions: bool = True  # "too much pressure": technique cautions at step start
    tempo: bool = True  # "rushing": the technique's tempo after the instruction
    check_in_first: int | None = None  # samples; "ignoring feedback": pressure check-ins
    check_in_every: int | None = None
    posture_every: int | None = None  # "poor body mechanics"
    ticks: bool = False  # soft stroke-rhythm tick at the technique's tempo
    heads_up: bool = True  # "Next: ..." before a step ends
    halfway: bool = True
    countdown: bool = True  # wordless tones in the last minutes


@dataclass(frozen=True)
class Routine:
    name: str  # file stem, e.g. "classic-back"
    path: str
    title: str
    steps: tuple[Step, ...]
    techniques: dict[str, Technique]  # the library plus the file's own [techniques.NAME]
    coaching: Coaching = field(default_factory=Coaching)
    description: str = ""
    language: str = "en"
    voice: str | None = None
    rate: int | None = None  # words per minute

    @property
    def duration(self) -> int:
        return sum(s.duration for s in self.steps)
