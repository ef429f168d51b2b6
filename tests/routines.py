"""Routine files for tests, written out as a user writes them (TOML text).

Most tests want a routine that says only its own words: `QUIET` coaching turns off everything
the coach adds (the screening questions, cautions, tempo, "Next: ...", halfway, countdown,
check-ins and posture reminders), so what plays is each step's instruction and the closing
words. A self-massage (partner = false): a partner routine with no check-ins gets a safety
warning.
"""

from __future__ import annotations

import json

QUIET = {
    "partner": False,
    "safety_notice": False,
    "cautions": False,
    "tempo": False,
    "heads_up": False,
    "halfway": False,
    "countdown": False,
    "check_in_first": False,
    "check_in_every": False,
    "posture_every": False,
}
# Everything the coach adds except what repeats (check-ins, posture), for short exports that
# should still sound like a session.
NO_REPEATS = {"check_in_every": False, "posture_every": False}


def step_table(
    technique: str, area: str, duration: int | str, say: str | None = None, **more
) -> dict:
    """One [[steps]] table; `more` adds title, cue, reminders..."""
    return {"technique": technique, "area": area, "duration": duration} | (
        {"say": say} if say is not None else {}
    ) | more  # fmt: skip


def routine_toml(
    *steps: dict, title: str = "Test routine", coaching: dict = QUIET, phrases: dict | None = None,
    **top,
) -> str:  # fmt: skip
    """A routine file's text: the title and `top` keys (rate=140...), [coaching], [phrases]
    when given, then the steps."""
    lines = [f"title = {toml(title)}", *(f"{k} = {toml(v)}" for k, v in top.items())]
    lines += ["", "[coaching]", *(f"{k} = {toml(v)}" for k, v in coaching.items())]
    if phrases:
        lines += ["", "[phrases]", *(f"{k} = {toml(v)}" for k, v in phrases.items())]
    for s in steps:
        lines += ["", "[[steps]]", *(f"{k} = {toml(v)}" for k, v in s.items())]
    return "\n".join(lines) + "\n"


def toml(value: object) -> str:
    """A value as TOML writes it (JSON's string escapes are TOML's too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return f"[{', '.join(toml(v) for v in value)}]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    return repr(value)
