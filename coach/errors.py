"""Errors a user can act on. Each carries the data a front end needs to word it; the command
line (coach/cli/) prints them as plain lines, never as tracebacks, and is the only place
that names its own flags and make targets in them (`--minutes 9`, `make setup`).

    CoachError                 a problem the user can fix; str() is a complete message
    ├── RoutineError           problems in a routine file, each with its line (`.problems`)
    │   └── TooShort           the routine cannot fit the time (`.shortest_minutes`)
    ├── SpeechError            no speech: engine missing, unknown voice, failed (`.need`)
    ├── CueError               a cue sound that cannot be found or decoded
    ├── ToolMissing            a program the asked-for feature needs (`.tool`, `.feature`)
    ├── UnknownFormat          an audio format no exporter writes (`.given`, `.formats`)
    ├── OutputError            an export that cannot go where asked (`.remedy`)
    ├── PeakTooHigh            a lossy export whose true peaks stay over the ceiling
    ├── Terminated             SIGTERM during an export (exit 143)
    ├── StepOutOfRange         a start step the routine does not have (`.step`, `.steps`)
    ├── BadKeys                a key map that cannot be read (`.entry`, `.key`)
    ├── NoDeviceError          no audio output device to play on (`.why`)
    ├── DeviceGone             the audio output device went away while playing
    ├── ControlUnavailable     a control that cannot run here; the session goes on without it
    └── RecognizerMissing      pocketsphinx cannot be imported (voice commands)
"""

from __future__ import annotations

import signal
from dataclasses import dataclass


class CoachError(Exception):
    """A problem the user can fix; `str(error)` is the whole message (one line per problem)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One problem in a routine file, reported as `PATH:LINE: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RoutineError(CoachError):
    """One or more problems in routine files."""

    def __init__(self, problems: list[Problem], hint: str = ""):
        self.problems = problems
        self.hint = hint  # what to do next, when it is not about one line of a file
        lines = [str(p) for p in problems] + ([f"coach: {hint}"] if hint else [])
        super().__init__("\n".join(lines))


class TooShort(RoutineError):
    """The routine's words do not fit the time asked for (`minutes`, None: the routine's own)
    at this voice and rate; `shortest_minutes` is the shortest whole length that fits."""

    def __init__(
        self, problems: list[Problem], routine: str, minutes: float | None, shortest_minutes: int
    ):
        self.routine = routine
        self.minutes = minutes
        self.shortest_minutes = shortest_minutes
        super().__init__(problems)


class SpeechError(CoachError):
    """Speech could not be made: an engine missing, an unknown voice, a failed phrase.

    `need` names what would fix it, for the front end to put in its own words: "install" (a
    program or package is missing), "voice" (the voice name is unknown), "retry" (the engine
    stalled), or "" (the message says it all).
    """

    def __init__(self, message: str, need: str = ""):
        super().__init__(message)
        self.need = need


class CueError(CoachError):
    """A cue sound that cannot be found or decoded."""


class ToolMissing(CoachError):
    """A program that `feature` needs is not installed: "music" (a bed under the guide),
    "cues" (decoding the cue sounds), or "FORMAT export" (an encoder; WAV needs none)."""

    def __init__(self, tool: str, feature: str):
        self.tool = tool
        self.feature = feature
        super().__init__(f"{tool} is not installed, and {feature} needs it")


class OutputError(CoachError):
    """An export that cannot be written where asked; `str` says why, and `remedy` what to
    name instead: "file" (a file, not a folder), "folder" (another folder) or "place"."""

    def __init__(self, message: str, remedy: str):
        self.remedy = remedy
        super().__init__(message)


class UnknownFormat(CoachError):
    """An export format that is not one of `formats`: `given` was asked for by name, else the
    output file's `suffix` did not name one."""

    def __init__(self, given: str | None, suffix: str, formats: tuple[str, ...]):
        self.given = given
        self.suffix = suffix
        self.formats = formats
        what = f"format {given!r}" if given else f"file extension {suffix or '(none)'!r}"
        super().__init__(f"unknown {what}: the formats are {', '.join(formats)}")


class PeakTooHigh(CoachError):
    """A lossy export (file `name`) whose true peaks stayed over -1 dBTP however much it was
    dipped; a lower loudness leaves them more room."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"could not keep the true peaks of {name} at or under -1 dBTP")


class Terminated(CoachError):
    """SIGTERM arrived: unwinds like Ctrl-C so partial files are cleaned up."""

    exit_code = 128 + signal.SIGTERM


class StepOutOfRange(CoachError):
    """A session asked to start at routine step `step`, which has steps 1 to `steps`."""

    def __init__(self, step: int, steps: int):
        self.step = step
        self.steps = steps
        super().__init__(f"step {step} is out of range: this routine has steps 1 to {steps}")


class BadKeys(CoachError):
    """A key map entry that cannot be read: `entry` is not ACTION=KEY with a known action
    (`actions`), or its `key` is neither one character nor one of `named`."""

    def __init__(
        self,
        entry: str,
        actions: tuple[str, ...],
        key: str | None = None,
        named: tuple[str, ...] = (),
    ):
        self.entry = entry
        self.actions = actions
        self.key = key
        self.named = named
        super().__init__(f"unknown key {key!r}" if key is not None else f"bad entry {entry!r}")


class NoDeviceError(CoachError):
    """No audio output device to play on; `str(error)` says why (the front end says what to
    do instead, e.g. make an audio file)."""

    def __init__(self, why: str):
        self.why = why
        super().__init__(f"no audio output device found ({why})")


class DeviceGone(CoachError):
    """The audio output device stopped asking for sound in the middle of a session."""

    def __init__(self) -> None:
        super().__init__("the audio output device went away")


class ControlUnavailable(CoachError):
    """A control that cannot run (no microphone, no terminal): the session goes on without
    it, after one line saying so."""


class RecognizerMissing(CoachError):
    """pocketsphinx cannot be imported."""
