"""Where things are in a routine file. tomllib gives values but no positions, so this scanner
walks the raw text of a file tomllib has already accepted and records where each key, table
header, array element and inline table starts, as paths like ("steps", 2, "reminders", 0, "at")
(indices 0-based)."""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Callable

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


def _escaped(text: str, pos: int) -> bool:
    """Whether the character at `pos` follows an odd number of backslashes."""
    backslashes = 0
    while pos - 1 - backslashes >= 0 and text[pos - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
