"""Routines, for the front ends (cli.py, the session layer): the model, loading a routine from
a file or from text, and finding one by name. Each part lives in its own module, which the
engine's own modules import directly:

- model.py: `Routine`, `Step`, `Reminder`, `Coaching`, and the limits (MAX_HOURS, RATE_RANGE);
- loader.py: `load_routine(path)`, `load_routine_text(text)`, through validate.py's checks;
- discovery.py: `find_routine(name_or_path)`, `builtin_routines()`.
"""

from __future__ import annotations

from coach.script.discovery import builtin_routines, find_routine
from coach.script.loader import MAX_FILE_BYTES, PASTED, load_routine, load_routine_text
from coach.script.model import (
    MAX_DURATION,
    MAX_HOURS,
    RATE_RANGE,
    Coaching,
    Reminder,
    Routine,
    Step,
    english_lines,
)

__all__ = [
    "MAX_DURATION",
    "MAX_FILE_BYTES",
    "MAX_HOURS",
    "PASTED",
    "RATE_RANGE",
    "Coaching",
    "Reminder",
    "Routine",
    "Step",
    "builtin_routines",
    "english_lines",
    "find_routine",
    "load_routine",
    "load_routine_text",
]
