"""Finding routines: the built-in ones by name, or a routine file by its path."""

from __future__ import annotations

from pathlib import Path

from coach.errors import CoachError
from coach.resources import scripts_dir
from coach.script.values import did_you_mean, show


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
