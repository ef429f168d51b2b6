"""Errors a user can act on. The CLI prints them as plain lines, never as tracebacks."""

from __future__ import annotations

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


class NoDeviceError(CoachError):
    """No audio output device to play on; `str(error)` says why (the front end says what to
    do instead, e.g. make an audio file)."""

    def __init__(self, why: str):
        self.why = why
        super().__init__(f"no audio output device found ({why})")
