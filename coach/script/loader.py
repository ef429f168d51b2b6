"""Loading a routine from a file, or from its text (pasted into a web page, say), into a
`Routine`, or every problem found, each as `NAME:LINE: message`.

One road for both: bytes of at most MAX_FILE_BYTES, decoded as UTF-8, parsed as TOML, then
validated (validate.py). A file is only read first; NAME is its path as given, or the text's
display name ("<pasted>"), which also names the routine. Text has no folder, so it may use the
built-in cues but no sound files.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path

from coach.errors import CoachError, Problem, RoutineError
from coach.script.model import Routine
from coach.script.toml_lines import field_lines
from coach.script.validate import Validator

# Routine files are a few KB; a cap keeps a huge or endless file (a device) from filling memory.
MAX_FILE_BYTES = 1_000_000
PASTED = "<pasted>"
_TOO_LARGE = (
    f"over {MAX_FILE_BYTES // 1_000_000} MB, too large for a routine file "
    "(the built-in ones are under 4 KB)"
)


def load_routine(path: str | Path) -> Routine:
    """Read and validate a routine file; every problem found is reported, each with its line."""
    where = str(path)
    file = Path(path)
    if not file.exists():
        raise CoachError(f"{where}: no such file; check the path (built-in routines need no path)")
    return _routine(_read(file, where), where, file.absolute().parent)


def load_routine_text(text: str, where: str = PASTED) -> Routine:
    """Validate the text of a routine file exactly as `load_routine` does the file, size limit
    included; `where` names it in problems (and is the routine's name)."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate: no UTF-8 text holds one
        line = text.count("\n", 0, e.start) + 1
        raise RoutineError([Problem(where, line, "not UTF-8 text (a lone surrogate)")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise CoachError(f"{where}: {_TOO_LARGE}")
    return _routine(raw, where, None)


def _routine(raw: bytes, where: str, folder: Path | None) -> Routine:
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        problem = Problem(where, line, "not UTF-8 text; save the file as UTF-8")
        raise RoutineError([problem]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RoutineError([_toml_problem(where, text, str(e))]) from None
    except RecursionError:
        problem = Problem(where, 1, "not valid TOML: lists or tables nested too deeply")
        raise RoutineError([problem]) from None
    except ValueError:  # tomllib passes on Python's refusal of integers over 4300 digits
        digits = re.search(r"\d{4300}", text)
        line = text.count("\n", 0, digits.start()) + 1 if digits else 1
        problem = Problem(where, line, "not valid TOML: a number too long to read")
        raise RoutineError([problem]) from None
    return Validator(where, folder, data, field_lines(text)).routine()


def _read(file: Path, where: str) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_FILE_BYTES; CoachError if not.

    Checked on the open file, so nothing can swap it in between: `/dev/zero` once grew to 13 GB
    in 30 s, and a FIFO hung silently (O_NONBLOCK lets one open without a writer).
    """
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise CoachError(f"{where}: cannot read it ({e.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise CoachError(f"{where}: is a folder; give a routine .toml file")
        raise CoachError(
            f"{where}: not a regular file (a device, pipe or socket); give a routine .toml file"
        )
    with os.fdopen(fd, "rb") as f:
        try:
            raw = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            raise CoachError(f"{where}: cannot read it ({e.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CoachError(f"{where}: {_TOO_LARGE}; give a routine .toml file")
    return raw


def _toml_problem(where: str, text: str, message: str) -> Problem:
    # tomllib (before 3.14) puts the position only in the message: "... (at line 3, column 9)".
    match = re.search(r" \(at line (\d+), column \d+\)$", message)
    if match:
        line, message = int(match.group(1)), message[: match.start()]
    else:
        line, message = text.count("\n") + 1, message.removesuffix(" (at end of document)")
    return Problem(where, line, f"not valid TOML: {message}")
