"""The safety lint: what a massage therapist would question in a valid routine file.

Warnings, not errors: the routine still plays. Each one points at the line that causes it and
says what, why, and what to do. Pure: the routine and its file's text in, warnings out. The
built-in routines give none (a test holds them to it).

Rules (the reasons are massage-school teaching; coach/safety.py names the sources):
- tapotement, or more than light pressure, over the lower back or kidneys;
- work "on" or "along" the spine;
- a pressure above 6 out of 10 in the routine's own words;
- vibration longer than `VIBRATION_MAX` in one step;
- tapotement longer than `TAPOTEMENT_MAX` in one step;
- a partner routine with no pressure check-in in its first `CHECK_IN_BY`;
- a step longer than `LONG_STEP` with no reminder;
- words that make no sense in their step: leaning in thumb, fingertip or percussion work, a
  new spot in whole-back strokes, a pressure question to still hands.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from coach.script.model import Routine
from coach.script.pacing import misplaced
from coach.script.safety import firm, is_tapotement, pressure_of
from coach.script.techniques import LIBRARY, Technique
from coach.script.toml_lines import field_lines
from coach.timeline import SAMPLE_RATE, clock

S = SAMPLE_RATE
VIBRATION_MAX = 40 * S  # about 10 s a spot; 40 s covers a few spots, longer numbs
TAPOTEMENT_MAX = 60 * S  # percussion is brief, toward the end
CHECK_IN_BY = 5 * 60 * S  # check the pressure within the first five minutes
LONG_STEP = 5 * 60 * S  # longer than this with nothing said, hands and attention drift
PRESSURE_MAX = 6  # out of 10: from 7 up the body braces and soreness follows

_LOWER_BACK = re.compile(r"lower back|lower spine|lumbar|kidney|small of the back", re.I)
_ON_SPINE = re.compile(
    r"\b(on|along)\s+(?:the\s+|your\s+|their\s+|his\s+|her\s+)?(spine|backbone|vertebrae)\b", re.I
)
_NEGATED = re.compile(r"\b(not|never|off)\b(\W+\w+){0,3}\W*$", re.I)
_VIBRATION = re.compile(r"vibrat|trembl|shak", re.I)
_CHECK_IN = re.compile(r"pressure|out of ten|more or less|all right|how does|check in", re.I)


@dataclass(frozen=True)
class SafetyWarning:
    """One warning about a routine file, as `PATH:LINE: warning: what; why; what to do`."""

    path: str
    line: int
    what: str
    why: str
    todo: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: warning: {self.what}; {self.why}; {self.todo}"


# A finding before it has a line: (key path or line, what, why, todo).
Finding = tuple[tuple | int, str, str, str]


def lint(routine: Routine, text: str) -> list[SafetyWarning]:
    """Every safety warning for `routine`, loaded from the file whose text is `text`."""
    at = field_lines(text)
    found = [*_step_findings(routine), *_word_findings(routine), *_misplaced(routine)]
    if routine.coaching.partner and not _checks_in_early(routine):
        found.append((
            ("coaching", "check_in_first"),
            f"no pressure check-in in the first {clock(CHECK_IN_BY)}",
            "a partner often won't say it is too firm unless asked",
            'set check_in_first = "4m" or less under [coaching]',
        ))  # fmt: skip
    warnings = [
        SafetyWarning(routine.path, at(*where) if isinstance(where, tuple) else where, *rest)
        for where, *rest in found
    ]
    return sorted(warnings, key=lambda w: w.line)


def _step_findings(routine: Routine) -> Iterator[Finding]:
    """What each step's technique, area and length call for."""
    for i, step in enumerate(routine.steps):
        technique = routine.techniques[step.technique]
        name = f"step {step.index} ({step.title})"
        if _LOWER_BACK.search(step.area) and firm(step, technique):
            how = "tapotement" if is_tapotement(technique) else "more than light pressure"
            yield (
                ("steps", i, "area"),
                f"{name}: {how} over the {step.area}",
                "the kidneys sit below the ribs, poorly protected",
                "keep the lower back to light strokes, or work higher up",
            )  # fmt: skip
        vibration = _VIBRATION.search(f"{technique.name} {technique.label}")
        if vibration and step.duration > VIBRATION_MAX:
            yield (
                ("steps", i, "duration"),
                f"{name}: {clock(step.duration)} of vibration",
                "vibration stays about 10 s on a spot, and a few spots are enough",
                f"shorten it to {clock(VIBRATION_MAX)} or less",
            )  # fmt: skip
        if is_tapotement(technique) and step.duration > TAPOTEMENT_MAX:
            yield (
                ("steps", i, "duration"),
                f"{name}: {clock(step.duration)} of tapotement",
                "percussion is meant to be brief, and longer it irritates",
                f"shorten it to {clock(TAPOTEMENT_MAX)} or less",
            )  # fmt: skip
        if step.duration > LONG_STEP and not step.reminders:
            yield (
                ("steps", i, "duration"),
                f"{name}: {clock(step.duration)} of {technique.label.lower()} with no reminder",
                "with nothing said for this long, pressure and attention drift",
                'add a reminder, like { at = "2m30s", say = "Ease off a little." }',
            )  # fmt: skip


def _word_findings(routine: Routine) -> Iterator[Finding]:
    """What the routine's own words ask for: work on the spine, too much pressure."""
    for where, who, said in _words(routine):
        if (m := _ON_SPINE.search(said)) and not _NEGATED.search(said[: m.start()]):
            yield (
                where,
                f'{who}: says "{m.group(0)}"',
                "pressing on the spine presses bone and nerves",
                "work beside the spine, never on it",
            )  # fmt: skip
        pressure = pressure_of(said)
        if pressure is not None and pressure > PRESSURE_MAX:
            yield (
                where,
                f"{who}: asks for {pressure} out of 10",
                f"above {PRESSURE_MAX} the body braces and soreness follows",
                f"ask for {PRESSURE_MAX} out of 10 at most",
            )  # fmt: skip


def _misplaced(routine: Routine) -> Iterator[Finding]:
    """The step's own words that make no sense in its work."""
    for i, step in enumerate(routine.steps):
        technique = routine.techniques[step.technique]
        said = [(("steps", i, "say"), step.say)] if step.say != technique.say else []
        said += [(r.line, r.say) for r in step.reminders]
        for where, text in said:
            if why := misplaced(text, step):
                yield (
                    where,
                    f'step {step.index} ({step.title}): "{text}" in {technique.label.lower()}',
                    why,
                    "say it in a step where it fits, or leave it out",
                )  # fmt: skip


def _own(routine: Routine) -> Iterator[Technique]:
    """The techniques the file defines itself (a library technique it redefines included)."""
    return (t for n, t in routine.techniques.items() if t is not LIBRARY.get(n))


def _words(routine: Routine) -> Iterator[tuple[tuple | int, str, str]]:
    """(key path or line, whose words, text) for every phrase the file itself writes."""
    for technique in _own(routine):
        who = f"[techniques.{technique.name}]"
        for key in ("label", "say", "tempo", "pressure"):
            yield ("techniques", technique.name, key), who, getattr(technique, key)
        for c in technique.cautions:
            yield ("techniques", technique.name, "cautions"), who, c
    for i, step in enumerate(routine.steps):
        technique = routine.techniques[step.technique]
        who = f"step {step.index} ({step.title})"
        if step.say != technique.say:
            yield ("steps", i, "say"), who, step.say
        if step.title != f"{technique.label}, {step.area}":  # not the default title
            yield ("steps", i, "title"), who, step.title
        yield ("steps", i, "area"), who, step.area
        for reminder in step.reminders:
            yield reminder.line, who, reminder.say


def _checks_in_early(routine: Routine) -> bool:
    first = routine.coaching.check_in_first
    if first is not None and first <= CHECK_IN_BY:
        return True
    start = 0
    for step in routine.steps:
        if any(start + r.at <= CHECK_IN_BY and _CHECK_IN.search(r.say) for r in step.reminders):
            return True
        start += step.duration
    return False
