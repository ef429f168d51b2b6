"""STOP-GAP until `coach.session` (issue 17) lands on this branch: the few names of its API
the web app uses, built on `coach.cli.build_session`. Delete this module and import from
`coach.session` instead once it is merged."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coach.sound.render import CEILING_DBTP, DEFAULT_LOUDNESS, Sounds, calibrated


@dataclass(frozen=True)
class SessionSpec:
    routine: str
    minutes: float | None = None
    voice: str | None = None
    rate: int | None = None
    safety: bool = True
    ticks: bool = False
    music: str | None = None
    loudness: float | None = None
    from_step: int | None = None

    @property
    def level(self) -> float:
        return DEFAULT_LOUDNESS if self.loudness is None else self.loudness


@dataclass(frozen=True)
class Session:
    spec: SessionSpec
    speech: object
    cues: object
    timeline: object
    notes: tuple[str, ...] = ()
    warnings: tuple = ()


def build(spec: SessionSpec, progress: Callable | None = None, **_) -> Session:
    from coach.cli import build_session

    with tempfile.TemporaryDirectory() as folder:
        routine = spec.routine
        if "\n" in routine:
            path = Path(folder) / "pasted.toml"
            path.write_text(routine, encoding="utf-8")
            routine = str(path)
        made = build_session(
            routine, spec.minutes, spec.voice, spec.rate, not spec.safety, spec.ticks
        )
    return Session(spec, made.speech, made.cues, made.timeline, (), tuple(made.warnings))


def sounds(session: Session, ceiling_dbtp: float = CEILING_DBTP) -> Sounds:
    made = Sounds(session.speech, session.cues, session.spec.level, ceiling_dbtp)
    return calibrated(session.timeline, made)
