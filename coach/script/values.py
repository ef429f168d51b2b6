"""A routine file's values: durations read as samples, and any value quoted back in a problem
as the user wrote it (with a "did you mean" for a near miss)."""

from __future__ import annotations

import difflib
import math
import re
from fractions import Fraction

from coach.script.model import MAX_DURATION, MAX_HOURS
from coach.timeline import SAMPLE_RATE

_DURATION_HELP = 'use 90, "90s", "2m", "1m30s" or "1:30"'
_NUM = r"(\d+(?:\.\d+)?)"
_UNITS = re.compile(rf"^(?:{_NUM}\s*h)?\s*(?:{_NUM}\s*m)?\s*(?:{_NUM}\s*s)?$")
_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):([0-5]\d(?:\.\d+)?)$")


def show(value: object) -> str:
    """A value as the user wrote it in TOML: strings quoted, booleans lower-case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 60 else f'"{value[:57]}..."'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return str(value)


def parse_duration(value: object) -> int:
    """A duration from a routine file as whole samples; ValueError says what is wrong.

    Numbers are seconds (90, 90.5, "90"); strings may use units ("90s", "2m", "1m30s", "1h")
    or a clock ("1:30", "1:02:03"). Zero and negative durations are refused, and so are
    durations over MAX_HOURS.
    """
    not_duration = ValueError(f"{show(value)} is not a duration; {_DURATION_HELP}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise not_duration
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            secs = _string_seconds(text)
        except ValueError:  # a number of over 4300 digits: Python refuses to convert it
            raise not_duration from None
        if secs is None:
            if text.startswith("-") and _string_seconds(text[1:].strip()) is not None:
                raise ValueError(f"{show(value)} must be more than zero")
            raise not_duration
    else:
        if not math.isfinite(value):
            raise not_duration
        secs = Fraction(value)
    if secs <= 0:
        raise ValueError(f"{show(value)} must be more than zero")
    if secs * SAMPLE_RATE > MAX_DURATION:
        raise ValueError(
            f'{show(value)} is over the {MAX_HOURS}-hour maximum; use at most "{MAX_HOURS}h"'
        )
    return round(secs * SAMPLE_RATE)


def _string_seconds(text: str) -> Fraction | None:
    if re.fullmatch(_NUM, text):
        return Fraction(text)
    if match := _CLOCK.match(text):
        hours, minutes, secs = match.groups()
        return Fraction(hours or 0) * 3600 + Fraction(minutes) * 60 + Fraction(secs)
    match = _UNITS.match(text)
    if match and any(match.groups()):
        hours, minutes, secs = (Fraction(g or 0) for g in match.groups())
        return hours * 3600 + minutes * 60 + secs
    return None


def did_you_mean(word: str, choices) -> str:
    """' (did you mean "X"?)' for the choice closest to a misspelt `word`, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""
