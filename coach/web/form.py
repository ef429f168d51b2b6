"""What the page sends, read strictly: every field checked, every problem one line naming the
field. Nothing here touches a file the server did not list itself: a routine is a name from
the server's own list, or the text of a routine file."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from coach.files.export import FORMATS
from coach.script.routine import MAX_FILE_BYTES, MAX_HOURS, RATE_RANGE
from coach.session import SessionSpec

# JSON escapes a routine's quotes and newlines (two bytes each): twice the file limit and room
# for the other fields holds any routine text that fits the limit itself.
MAX_BODY = 2 * MAX_FILE_BYTES + 65536


class BadInput(ValueError):
    """A request the page should not have sent: `str(error)` is one line for the page; `status`
    the HTTP status (400, or 413 for too much)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def too_large() -> BadInput:
    return BadInput(
        f"the routine is over {MAX_FILE_BYTES // 1_000_000} MB, the limit for a routine file",
        413,
    )


def parse(body: bytes) -> dict:
    """The request's JSON object."""
    if len(body) > MAX_BODY:
        raise too_large()
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadInput("the request is not JSON text") from None
    if not isinstance(data, dict):
        raise BadInput("the request is not a JSON object")
    return data


def spec(data: Mapping, routines: Mapping[str, Path], voices: frozenset[str]) -> SessionSpec:
    """The session the fields ask for. `routines`: the names the server lists and their files;
    `voices`: the voice names it offers."""
    return SessionSpec(
        routine=_routine(data, routines),
        minutes=_minutes(data.get("minutes")),
        voice=_voice(data.get("voice"), voices),
        rate=_rate(data.get("rate")),
        safety=_flag(data, "safety", True),
        ticks=_flag(data, "ticks", False),
    )


def export_format(data: Mapping) -> str:
    fmt = data.get("format")
    if fmt not in FORMATS:
        raise BadInput(f"format: choose one of {', '.join(FORMATS)}")
    return fmt


def _routine(data: Mapping, routines: Mapping[str, Path]) -> str:
    text = data.get("text")
    if text is not None:
        if not isinstance(text, str) or not text.strip():
            raise BadInput("routine file: paste or open a routine file first")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
            raise too_large()
        if "\n" not in text:  # a one-line "routine" would be taken for a name or a path
            text += "\n"
        return text
    name = data.get("routine")
    if not isinstance(name, str) or name not in routines:
        shown = name[:40] if isinstance(name, str) else "that"
        raise BadInput(f"routine: there is no routine {shown!r}; choose one from the list", 404)
    return str(routines[name])


def _minutes(value: object) -> float | None:
    if value is None or value == "":
        return None
    most = MAX_HOURS * 60
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        value = None
    if value is None or not 0 < value <= most:
        raise BadInput(f"minutes: give a number over 0 and up to {most}, or leave it empty")
    return float(value)


def _voice(value: object, voices: frozenset[str]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in voices:
        raise BadInput("voice: choose one from the list")
    return value


def _rate(value: object) -> int | None:
    if value is None or value == "":
        return None
    low, high = RATE_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"rate: give whole words a minute from {low} to {high}, or leave it empty")
    return value


def _flag(data: Mapping, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise BadInput(f"{key}: true or false")
    return value
