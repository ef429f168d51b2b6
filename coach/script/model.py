"""The routine model: what a validated routine file says, as frozen data.

Times are whole samples at SAMPLE_RATE. loader.py makes a `Routine` from a file or pasted text
(validate.py checks it); discovery.py finds the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coach.script.techniques import LIBRARY, Technique
from coach.timeline import SAMPLE_RATE

# The longest a duration, and a whole routine, may be. Far beyond any massage, and it bounds
# the work: "9999h" took over 120 s to check, "999999h" never finished. A day of 16-bit mono
# audio at 22050 Hz is 3.8 GB, under the 4 GiB a WAV file can hold.
MAX_HOURS = 24
MAX_DURATION = MAX_HOURS * 3600 * SAMPLE_RATE
# Words a minute as heard (words over the trimmed clips' length), for a routine's `rate` and
# the command line's alike: slower drags, faster cannot be followed mid-stroke. The floor is
# espeak-ng's: it clamps its -s below 80, which is heard at about 90 (coach/sound/espeak.py).
RATE_RANGE = (90, 300)


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
    safety_notice: bool = True  # the screening questions before the massage (pre-roll)
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
    phrases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    pronounce: dict[str, str] = field(default_factory=dict)  # word -> IPA ([pronounce])

    @property
    def duration(self) -> int:
        return sum(s.duration for s in self.steps)


def english_lines(routine: Routine) -> list[str]:
    """The coach's own lines that stay English in a routine whose language is not English.

    Names each `[phrases]` key the routine's coaching needs and does not give, then each library
    technique whose English words it speaks; empty for English routines and for routines that
    give them all. "safety" is always needed: the pre-roll's stop rule is said even when the
    screening questions are skipped.
    """
    if routine.language.lower().replace("_", "-").split("-")[0] == "en":
        return []
    coaching = routine.coaching
    needed = {
        "safety": True,
        "check_ins": coaching.check_in_first is not None,
        "posture": coaching.posture_every is not None,
        "next": coaching.heads_up and len(routine.steps) > 1,
        "halfway": coaching.halfway,
        "ending": True,
    }
    lines = [
        f"phrases.{key}" for key, need in needed.items() if need and key not in routine.phrases
    ]
    for step in routine.steps:
        technique = routine.techniques[step.technique]
        if technique is LIBRARY.get(step.technique) and (
            coaching.tempo
            or coaching.cautions
            or step.say == technique.say
            or technique.label in step.title
        ):
            lines.append(f"techniques.{step.technique}")
    return list(dict.fromkeys(lines))
