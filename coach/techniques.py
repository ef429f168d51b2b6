"""The technique library: what each massage technique is, how fast, how firm, what to avoid."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Technique:
    name: str  # key used in routine files, e.g. "effleurage"
    label: str  # spoken and shown, e.g. "Effleurage"
    say: str  # default instruction, second person, present tense
    tempo: str  # spoken tempo guidance, e.g. "Slowly: one stroke up the back every six seconds."
    pressure: str  # pressure guidance, e.g. "Light to medium, 3 to 5 out of 10."
    cautions: tuple[str, ...] = ()  # spoken where the routine's coaching asks for cautions
    per_minute: float | None = None  # strokes/taps a minute for the rhythm tick; None: no tick
