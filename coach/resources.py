"""Where the built-in routine scripts and cue sounds live (inside the installed package)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# Built-in cue sounds in audio_cues/, by the name a routine uses.
BUILTIN_CUES = ("chime", "bell", "tick", "gong", "countdown")


def scripts_dir() -> Path:
    return Path(str(files("coach.scripts")))


def cues_dir() -> Path:
    return Path(str(files("coach.audio_cues")))
