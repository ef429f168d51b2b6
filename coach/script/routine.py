"""Routine files: TOML text in, a validated `Routine` out, or problems with line numbers."""

from __future__ import annotations

import bisect
import difflib
import math
import os
import re
import stat
import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from coach.errors import CoachError, Problem, RoutineError
from coach.resources import BUILTIN_CUES, cues_dir, scripts_dir
from coach.script.techniques import LIBRARY, Technique
from coach.timeline import SAMPLE_RATE, clock


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

    @property
    def duration(self) -> int:
        return sum(s.duration for s in self.steps)


# ---------------------------------------------------------------------------------------------
# Durations

_DURATION_HELP = 'use 90, "90s", "2m", "1m30s" or "1:30"'
# The longest a duration, and a whole routine, may be. Far beyond any massage, and it bounds
# the work: "9999h" took over 120 s to check, "999999h" never finished. A day of 16-bit mono
# audio at 22050 Hz is 3.8 GB, under the 4 GiB a WAV file can hold.
MAX_HOURS = 24
MAX_DURATION = MAX_HOURS * 3600 * SAMPLE_RATE
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


# ---------------------------------------------------------------------------------------------
# Line numbers. tomllib gives values but no positions, so this scanner walks the raw text of a
# file tomllib has already accepted and records where each key, table header, array element and
# inline table starts, as paths like ("steps", 2, "reminders", 0, "at") (indices 0-based).

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def field_lines(text: str) -> Callable[..., int]:
    """For a routine file's text (valid TOML): `lines("steps", 2, "area")` is the line where
    that key starts (indices 0-based); a key not written gives its closest parent's line."""
    return _Locator(text).line


class _Locator:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.lines: dict[tuple, int] = {}
        self.array_tables: dict[tuple, int] = {}  # [[name]] path -> how many seen so far
        self._scan()

    def line(self, *path: str | int) -> int:
        """The line where `path` starts, or of its closest recorded parent (else line 1)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def _here(self) -> int:
        return bisect.bisect_right(self.newlines, self.i - 1) + 1

    def _mark(self, path: tuple) -> None:
        self.lines.setdefault(path, self._here())

    def _mark_header(self, table: tuple) -> None:
        # A header also opens its parents: [[steps]] is where `steps` first appears.
        for end in range(1, len(table) + 1):
            self._mark(table[:end])

    def _peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def _skip(self, newlines: bool) -> None:
        """Skip blanks and comments (and newlines, inside arrays and inline tables)."""
        text = self.text
        while self.i < len(text):
            c = text[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            else:
                return

    def _scan(self) -> None:
        table: tuple = ()
        while True:
            self._skip(newlines=True)
            if self.i >= len(self.text):
                return
            if self._peek(2) == "[[":
                self.i += 2
                key = self._key()
                base = self._resolve(key[:-1]) + key[-1:]
                count = self.array_tables.get(base, 0)
                self.array_tables[base] = count + 1
                table = (*base, count)
                self._mark_header(table)
            elif self._peek() == "[":
                self.i += 1
                table = self._resolve(self._key())
                self._mark_header(table)
            else:
                path = table + self._key()
                self._mark(path)
                self.i += 1  # the "="
                self._skip(newlines=False)
                self._value(path)
            end = self.text.find("\n", self.i)
            self.i = len(self.text) if end < 0 else end

    def _resolve(self, key: tuple) -> tuple:
        """A header's dotted key with the current index inserted after each array of tables."""
        out: tuple = ()
        for part in key:
            out = (*out, part)
            if out in self.array_tables:
                out = (*out, self.array_tables[out] - 1)
        return out

    def _key(self) -> tuple[str, ...]:
        parts = []
        while True:
            self._skip(newlines=False)
            if self._peek() in ('"', "'"):
                start = self.i
                self._string()
                parts.append(tomllib.loads(f"k = {self.text[start : self.i]}")["k"])
            else:
                match = _BARE_KEY.match(self.text, self.i)
                parts.append(match.group())
                self.i = match.end()
            self._skip(newlines=False)
            if self._peek() != ".":
                return tuple(parts)
            self.i += 1

    def _value(self, path: tuple) -> None:
        c = self._peek()
        if c == "[":
            self._items(path, "]", keyed=False)
        elif c == "{":
            self._items(path, "}", keyed=True)
        elif c in ('"', "'"):
            self._string()
        else:  # numbers, booleans, dates: up to the next separator
            while self.i < len(self.text) and self.text[self.i] not in ",]}\n#":
                self.i += 1
            while self.text[self.i - 1] in " \t\r":
                self.i -= 1

    def _items(self, path: tuple, close: str, keyed: bool) -> None:
        """An array (elements by position) or an inline table (`keyed`: by key)."""
        self.i += 1
        n = 0
        while True:
            self._skip(newlines=True)
            if self._peek() == close or self.i >= len(self.text):
                self.i += 1
                return
            if keyed:
                sub = path + self._key()
                self._mark(sub)
                self.i += 1  # the "="
                self._skip(newlines=True)
            else:
                sub = (*path, n)
                self._mark(sub)
            self._value(sub)
            n += 1
            self._skip(newlines=True)
            if self._peek() == ",":
                self.i += 1

    def _string(self) -> None:
        text = self.text
        quote = text[self.i]
        if text.startswith(quote * 3, self.i):
            end = text.find(quote * 3, self.i + 3)
            while quote == '"' and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
            self.i = end + 3
            while self._peek() == quote:  # up to two quotes may close the content
                self.i += 1
            return
        end = text.find(quote, self.i + 1)
        while quote == '"' and _escaped(text, end):
            end = text.find(quote, end + 1)
        self.i = end + 1


def _only_title(text: str) -> bool:
    """Whether `text` holds {title}, and no other field, so `text.format(title=...)` works."""
    try:
        fields = [
            (f, spec, conv) for _, f, spec, conv in string.Formatter().parse(text) if f is not None
        ]
    except ValueError:  # a lone brace
        return False
    return bool(fields) and all(field == ("title", "", None) for field in fields)


def _escaped(text: str, pos: int) -> bool:
    """Whether the character at `pos` follows an odd number of backslashes."""
    backslashes = 0
    while pos - 1 - backslashes >= 0 and text[pos - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


# ---------------------------------------------------------------------------------------------
# Loading

TOP_KEYS = (
    "title",
    "description",
    "language",
    "voice",
    "rate",
    "phrases",
    "coaching",
    "techniques",
    "steps",
)
# The coach's own words a routine may give in its language ([phrases]): lists of lines said in
# turn, and single lines. "next" names the coming step with {title}.
PHRASE_LISTS = ("safety", "check_ins", "posture")
PHRASE_TEXTS = ("next", "halfway", "ending")
COACHING_KEYS = (
    "partner",
    "safety_notice",
    "cautions",
    "tempo",
    "check_in_first",
    "check_in_every",
    "posture_every",
    "ticks",
    "heads_up",
    "halfway",
    "countdown",
)
TECHNIQUE_KEYS = ("label", "say", "tempo", "pressure", "cautions", "per_minute")
STEP_KEYS = ("technique", "area", "duration", "title", "say", "cue", "reminders")
REMINDER_KEYS = ("at", "say")
# Routine files are a few KB; a cap keeps a huge or endless file (a device) from filling memory.
MAX_FILE_BYTES = 1_000_000
RATE_RANGE = (80, 300)  # words a minute: slower drags, faster cannot be followed mid-stroke
# Partner massages check pressure within the first five minutes, then now and then, and remind
# the giver of their posture; self-massage has nobody to ask.
PARTNER_INTERVALS = {"check_in_first": "4m", "check_in_every": "5m", "posture_every": "6m"}


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def builtin_routines() -> list[Path]:
    return sorted(scripts_dir().glob("*.toml"))


def find_routine(name_or_path: str | Path) -> Path:
    """An existing routine file, or a built-in routine by name ("classic-back[.toml]")."""
    given = str(name_or_path)
    try:
        if given.strip() and Path(given).exists():  # Path("") would be the current folder
            return Path(given)
    except OSError as e:  # e.g. a name too long for the file system
        raise CoachError(f"{show(given)}: {e.strerror}; give a routine .toml file") from None
    builtins = {p.stem: p for p in builtin_routines()}
    stem = given.removesuffix(".toml")
    if stem in builtins:
        return builtins[stem]
    hint = did_you_mean(Path(stem).name, builtins)
    names = ", ".join(builtins)
    if "/" in given or "\\" in given or given.endswith(".toml"):
        raise CoachError(f"{given}: no such file{hint}; built-in routines: {names}")
    raise CoachError(
        f'unknown routine "{given}"{hint}; built-in routines: {names} (or give a .toml file path)'
    )


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


def load_routine(path: str | Path) -> Routine:
    """Read and validate a routine file; every problem found is reported, each with its line."""
    where = str(path)
    file = Path(path)
    if not file.exists():
        raise CoachError(f"{where}: no such file; check the path (built-in routines need no path)")
    raw = _read(file, where)
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
    return _Loader(where, file, data, _Locator(text)).routine()


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
        raise CoachError(
            f"{where}: over {MAX_FILE_BYTES // 1_000_000} MB, too large for a routine file "
            "(the built-in ones are under 4 KB); give a routine .toml file"
        )
    return raw


def _toml_problem(where: str, text: str, message: str) -> Problem:
    # tomllib (before 3.14) puts the position only in the message: "... (at line 3, column 9)".
    match = re.search(r" \(at line (\d+), column \d+\)$", message)
    if match:
        line, message = int(match.group(1)), message[: match.start()]
    else:
        line, message = text.count("\n") + 1, message.removesuffix(" (at end of document)")
    return Problem(where, line, f"not valid TOML: {message}")


class _Loader:
    """Validates parsed TOML, collecting every problem instead of stopping at the first."""

    def __init__(self, where: str, file: Path, data: dict, locator: _Locator):
        self.where = where
        self.file = file
        self.data = data
        self.at = locator.line
        self.problems: list[Problem] = []
        self.techniques = dict(LIBRARY)
        self.broken: set[str] = set()  # own techniques with problems (already reported)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.where, line, message))

    def routine(self) -> Routine:
        data = self.data
        self.keys(data, TOP_KEYS, (), "")
        title = self.text(data, "title", (), "", "give the routine a title")
        if "title" not in data:
            self.problem(1, 'missing title; add a line like title = "Evening back massage"')
        description = self.text(data, "description", (), "", None) or ""
        language = self.text(data, "language", (), "", 'use a code like "en"') or "en"
        voice_hint = 'use a voice from `coach voices`, like "en_US-joe-medium" or "en-gb"'
        voice = self.text(data, "voice", (), "", voice_hint)
        rate = self.rate(data)
        phrases = self.phrases(self.table(data, "phrases", ("phrases",), ""))
        coaching = self.coaching(self.table(data, "coaching", ("coaching",), ""))
        self.own_techniques(self.table(data, "techniques", ("techniques",), ""))
        steps = self.steps(data.get("steps"))
        if self.problems:
            raise RoutineError(sorted(self.problems, key=lambda p: p.line))
        return Routine(
            name=self.file.stem,
            path=self.where,
            title=title,
            steps=steps,
            techniques=self.techniques,
            coaching=coaching,
            description=description,
            language=language,
            voice=voice,
            rate=rate,
            phrases=phrases,
        )

    # -- generic checks ---------------------------------------------------------------------

    def keys(self, table: dict, allowed: tuple[str, ...], path: tuple, ctx: str) -> None:
        for key in table:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f"; allowed here: {', '.join(allowed)}"
                self.problem(self.at(*path, key), f'{ctx}unknown key "{key}"{hint}')

    def table(self, parent: dict, key: str, path: tuple, ctx: str) -> dict:
        value = parent.get(key, {})
        if not isinstance(value, dict):
            message = f"{ctx}{key} must be a table like [{key}], not {show(value)}"
            self.problem(self.at(*path), message)
            return {}
        return value

    def text(self, table: dict, key: str, path: tuple, ctx: str, empty_hint: str | None):
        """An optional text value, whitespace tidied; None when absent or wrong.

        `empty_hint` None: an empty value is allowed; otherwise it says what to write instead.
        """
        if key not in table:
            return None
        value = table[key]
        line = self.at(*path, key)
        if not isinstance(value, str):
            self.problem(line, f"{ctx}{key} must be text in quotes, not {show(value)}")
            return None
        tidy = " ".join(value.split())
        if not tidy and empty_hint is not None:
            self.problem(line, f"{ctx}{key} is empty; {empty_hint}")
            return None
        return tidy

    def required(self, table: dict, keys: tuple[str, ...], path: tuple, ctx: str) -> bool:
        missing = [k for k in keys if k not in table]
        for key in missing:
            self.problem(self.at(*path), f"{ctx}missing {key}")
        return not missing

    def duration(self, value: object, line: int, ctx: str, key: str) -> int | None:
        try:
            return parse_duration(value)
        except ValueError as e:
            self.problem(line, f"{ctx}{key} {e}")
            return None

    def flag(self, table: dict, key: str, default: bool, ctx: str) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(
                self.at("coaching", key), f"{ctx}{key} must be true or false, not {show(value)}"
            )
            return default
        return value

    # -- sections -----------------------------------------------------------------------------

    def rate(self, data: dict) -> int | None:
        if "rate" not in data:
            return None
        value = data["rate"]
        low, high = RATE_RANGE
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(
                self.at("rate"),
                f"rate {show(value)} is out of range; use {low} to {high} words a minute",
            )
            return None
        return value

    def phrases(self, table: dict) -> dict[str, tuple[str, ...]]:
        ctx = "[phrases]: "
        self.keys(table, PHRASE_LISTS + PHRASE_TEXTS, ("phrases",), ctx)
        found: dict[str, tuple[str, ...]] = {}
        hint = "write what the coach should say, or leave the key out"
        for key in PHRASE_LISTS:
            value = table.get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not value:
                self.problem(
                    self.at("phrases", key),
                    f'{ctx}{key} must be a list of lines like ["...", "..."], not {show(value)}',
                )
                continue
            lines = []
            for j, item in enumerate(value):
                tidy = " ".join(item.split()) if isinstance(item, str) else ""
                if not tidy:
                    what = (
                        f"is empty; {hint}"
                        if isinstance(item, str)
                        else (f"must be text in quotes, not {show(item)}")
                    )
                    self.problem(self.at("phrases", key, j), f"{ctx}{key} entry {j + 1} {what}")
                lines.append(tidy)
            if all(lines):
                found[key] = tuple(lines)
        for key in PHRASE_TEXTS:
            text = self.text(table, key, ("phrases",), ctx, hint)
            if text and key == "next" and not _only_title(text):
                self.problem(
                    self.at("phrases", key),
                    f'{ctx}next must name the coming step as {{title}}, like "Next: {{title}}.", '
                    "with no other braces",
                )
            elif text:
                found[key] = (text,)
        return found

    def coaching(self, table: dict) -> Coaching:
        ctx = "[coaching]: "
        self.keys(table, COACHING_KEYS, ("coaching",), ctx)
        partner = self.flag(table, "partner", True, ctx)
        intervals = {}
        for key, default in PARTNER_INTERVALS.items():
            value = table.get(key, partner and default)
            if value is False:
                intervals[key] = None
            else:
                line = self.at("coaching", key)
                intervals[key] = self.duration(default if value is True else value, line, ctx, key)
        return Coaching(
            partner=partner,
            safety_notice=self.flag(table, "safety_notice", True, ctx),
            cautions=self.flag(table, "cautions", True, ctx),
            tempo=self.flag(table, "tempo", True, ctx),
            ticks=self.flag(table, "ticks", False, ctx),
            heads_up=self.flag(table, "heads_up", True, ctx),
            halfway=self.flag(table, "halfway", True, ctx),
            countdown=self.flag(table, "countdown", True, ctx),
            **intervals,
        )

    def own_techniques(self, tables: dict) -> None:
        for name, table in tables.items():
            path = ("techniques", name)
            ctx = f"[techniques.{name}]: "
            if not isinstance(table, dict):
                self.problem(self.at(*path), f"{ctx}must be a table of label, say, tempo, pressure")
                self.broken.add(name)
                continue
            before = len(self.problems)
            self.keys(table, TECHNIQUE_KEYS, path, ctx)
            self.required(table, ("label", "say", "tempo", "pressure"), path, ctx)
            hint = "write what the coach should say"
            fields = {k: self.text(table, k, path, ctx, hint) for k in ("label", "say")}
            fields |= {k: self.text(table, k, path, ctx, hint) for k in ("tempo", "pressure")}
            cautions = table.get("cautions", [])
            if not isinstance(cautions, list) or not all(
                isinstance(c, str) and c.strip() for c in cautions
            ):
                self.problem(
                    self.at(*path, "cautions"),
                    f'{ctx}cautions must be a list of sentences like ["Not on the spine."]',
                )
                cautions = []
            per_minute = table.get("per_minute")
            if per_minute is not None and (
                isinstance(per_minute, bool)
                or not isinstance(per_minute, (int, float))
                or not 0 < per_minute <= 600
            ):
                self.problem(
                    self.at(*path, "per_minute"),
                    f"{ctx}per_minute must be a number of strokes a minute (1 to 600), "
                    f"not {show(per_minute)}",
                )
            if len(self.problems) > before:
                self.broken.add(name)
                continue
            self.techniques[name] = Technique(
                name=name,
                cautions=tuple(" ".join(c.split()) for c in cautions),
                per_minute=per_minute,
                **fields,
            )

    def steps(self, value: object) -> tuple[Step, ...]:
        add = "add at least one [[steps]] table with technique, area and duration"
        if value is None:
            self.problem(self.at("steps") if "steps" in self.data else 1, f"no steps; {add}")
            return ()
        if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
            self.problem(self.at("steps"), f"steps must be [[steps]] tables, not {show(value)}")
            return ()
        if not value:
            self.problem(self.at("steps"), f"no steps; {add}")
            return ()
        steps = tuple(s for n, t in enumerate(value, 1) if (s := self.step(n, t)) is not None)
        total = 0
        for step in steps:
            total += step.duration
            if total > MAX_DURATION:
                self.problem(
                    step.line,
                    f"step {step.index} ({step.title}): the steps up to here add up to "
                    f"{total / 3600 / SAMPLE_RATE:.3g} hours, over the {MAX_HOURS}-hour maximum; "
                    "shorten or remove steps",
                )
                break
        return steps

    def step(self, index: int, table: dict) -> Step | None:
        path = ("steps", index - 1)
        name = table.get("technique")
        technique = self.techniques.get(name) if isinstance(name, str) else None
        label = table.get("title") if isinstance(table.get("title"), str) else None
        label = label or (technique.label if technique else name if isinstance(name, str) else "")
        ctx = f"step {index} ({label}): " if label and label.strip() else f"step {index}: "
        before = len(self.problems)

        self.keys(table, STEP_KEYS, path, ctx)
        self.required(table, ("technique", "area", "duration"), path, ctx)
        if "technique" in table and technique is None:
            line = self.at(*path, "technique")
            if not isinstance(name, str):
                self.problem(line, f"{ctx}technique must be a name in quotes, not {show(name)}")
            elif name not in self.broken:
                known = sorted(self.techniques)
                hint = did_you_mean(name, known) or f"; known: {', '.join(known)}"
                self.problem(line, f'{ctx}unknown technique "{name}"{hint}')
        area = self.text(table, "area", path, ctx, 'say where, like "whole back"')
        duration = None
        if "duration" in table:
            duration = self.duration(table["duration"], self.at(*path, "duration"), ctx, "duration")
        title = self.text(table, "title", path, ctx, "give a title or leave it out")
        hint = "write what the coach should say, or leave say out"
        say = self.text(table, "say", path, ctx, hint)
        cue = self.cue(table.get("cue", "chime"), self.at(*path, "cue"), ctx)
        reminders = self.reminders(table.get("reminders", []), path, ctx, duration)
        if len(self.problems) > before or technique is None:  # (a broken own technique)
            return None
        return Step(
            index=index,
            technique=name,
            area=area,
            duration=duration,
            title=title or f"{technique.label}, {area}",
            say=say or technique.say,
            cue=cue,
            reminders=reminders,
            line=self.at(*path),
        )

    def cue(self, value: object, line: int, ctx: str) -> str | None:
        if value is False:
            return None
        names = ", ".join(BUILTIN_CUES)
        if not isinstance(value, str) or not value.strip():
            kinds = f"a cue name ({names}), a sound file, or false"
            self.problem(line, f"{ctx}cue must be {kinds}, not {show(value)}")
            return None
        if not re.search(r"[/\\.]", value):  # a name, not a file
            if value in BUILTIN_CUES:
                return value
            hint = did_you_mean(value, BUILTIN_CUES)
            message = f'{ctx}unknown cue "{value}"{hint}; use {names}, a sound file, or false'
            self.problem(line, message)
            return None
        folder = self.file.absolute().parent
        sound = (folder / value).resolve()
        # Resolved paths, so neither "../" nor a symlink can point a routine at arbitrary files.
        roots = (folder.resolve(), cues_dir().resolve())
        if not any(sound.is_relative_to(root) for root in roots):
            self.problem(
                line,
                f'{ctx}cue "{value}" is outside the routine\'s folder and audio_cues/; '
                "copy the sound next to the routine file",
            )
        elif not sound.is_file():
            self.problem(line, f'{ctx}cue file "{value}" not found (looked for {sound})')
        else:
            return str(sound)
        return None

    def reminders(self, value: object, path: tuple, ctx: str, duration: int | None):
        line = self.at(*path, "reminders")
        example = '[{ at = "45s", say = "Switch sides." }]'
        if not isinstance(value, list):
            self.problem(line, f"{ctx}reminders must be a list like {example}, not {show(value)}")
            return ()
        found = []
        for j, item in enumerate(value):
            where = (*path, "reminders", j)
            rctx = f"{ctx}reminder {j + 1}: "
            if not isinstance(item, dict):
                self.problem(self.at(*where), f"{rctx}must be a table like {example[1:-1]}")
                continue
            self.keys(item, REMINDER_KEYS, where, rctx)
            ok = self.required(item, REMINDER_KEYS, where, rctx)
            say = self.text(item, "say", where, rctx, "write what the coach should say")
            at = None
            if "at" in item:
                at = self.duration(item["at"], self.at(*where, "at"), rctx, "at")
            if at is not None and duration is not None and at >= duration:
                self.problem(
                    self.at(*where, "at"),
                    f"{rctx}at {show(item['at'])} is at or past the step's end "
                    f"({clock(duration)}); give a time inside the step",
                )
            elif ok and say and at is not None:
                found.append(Reminder(at=at, say=say, line=self.at(*where)))
        return tuple(sorted(found, key=lambda r: r.at))
