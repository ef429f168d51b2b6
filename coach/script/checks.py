"""The checks every part of a routine file gets, each failure kept as a `Problem` at its line:
unknown keys (with a "did you mean"), tables, text, required keys, durations, true/false.

validate.py builds on them with what each table of a routine must hold; collecting every
problem, instead of stopping at the first, lets a user fix a file in one go.
"""

from __future__ import annotations

from collections.abc import Callable

from coach.errors import Problem
from coach.script.values import did_you_mean, parse_duration, show


class Checks:
    """Problems found so far in one routine (`where`, its file's path or display name); `at`
    gives the line of a key path (toml_lines.field_lines)."""

    def __init__(self, where: str, at: Callable[..., int]):
        self.where = where
        self.at = at
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.where, line, message))

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

    def flag(self, table: dict, key: str, default: bool, path: tuple, ctx: str) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(
                self.at(*path, key), f"{ctx}{key} must be true or false, not {show(value)}"
            )
            return default
        return value
