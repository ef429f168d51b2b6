"""Pacing like a good guide: what a step may say at once, which of the coach's lines fit which
work, near-duplicates, and the halfway line's true time left. Pure rules; the fitter applies
them.
"""

from __future__ import annotations

import functools
import re

from coach.script.model import Routine, Step
from coach.script.safety import firm, is_tapotement
from coach.script.techniques import STILL
from coach.timeline import SAMPLE_RATE

S = SAMPLE_RATE
# A step opens with at most this much speech before the hands get quiet (guided audio says a
# sentence or two, then lets the hands work); the rest of its opening follows after `LATER`
# of quiet. Where to work, the cautions and the author's instruction always open it.
OPENING = 12 * S
LATER = 8 * S  # quiet before the opening's further lines (pressure, tempo)
QUIET = 4 * S  # a silence this long is the hands' time, not a breath between lines

# Crude stems: the first five letters, so "press" and "presses", "breathes" and "breath" meet.
_STEM = 5
_COMMON = {
    "the", "and", "your", "you", "with", "for", "then", "each", "one", "two", "this", "that",
    "their", "them", "they", "its", "into", "over", "from", "now", "just", "any", "are", "not",
    "too", "all", "more", "less", "little", "keep", "let", "again", "still", "every", "here",
}  # fmt: skip


@functools.cache  # the same few dozen lines are compared again and again: 2000 steps, 135 000
def stems(text: str) -> frozenset[str]:
    return frozenset(w[:_STEM] for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2) - _COMMON


def near_duplicate(a: str, b: str) -> bool:
    """Whether two lines say nearly the same ("Press as your partner breathes out." and "One
    press each out-breath."): three or more words in common that make most of the shorter."""
    x, y = stems(a), stems(b)
    shared = len(x & y)
    return shared >= 3 and shared >= 0.6 * min(len(x), len(y))


# -- which of the coach's lines fit which work -------------------------------------------------

# Work done spot by spot: "move on to a new spot" makes sense only here.
SPOTS = frozenset({"petrissage", "friction", "thumb-press", "vibration", "tennis-ball"})
# Strokes and kneading carried by the giver's weight, and a ball or roller under your own:
# leaning fits; on thumbs, fingertips or percussion it overloads the joints.
LEANING = frozenset({"effleurage", "petrissage", "tennis-ball", "foam-roller"})
_LEAN = re.compile(r"\blean|\bweight\b", re.I)
_SPOT = re.compile(r"new spot|move on|hand's width", re.I)
_HANDS = re.compile(r"\bhands\b", re.I)
_ASKS = re.compile(r"pressure.*\?|\?.*pressure|one to ten", re.I)


def line_fits(text: str, step: Step, routine: Routine) -> bool:
    """Whether a coach's progress or posture line makes sense during `step`."""
    if misplaced(text, step):
        return False
    # the hands follow the back only when they are on it (not a ball or a roller)
    return not (_HANDS.search(text) and not routine.coaching.partner)


def misplaced(text: str, step: Step) -> str | None:
    """Why `text` makes no sense during `step`, or None: leaning on thumbs, fingertips or
    percussion; a new spot during whole-back strokes; a pressure question to still hands."""
    if _LEAN.search(text) and step.technique not in LEANING:
        return "leaning overloads the thumbs, fingertips or wrists in this work"
    if _SPOT.search(text) and step.technique not in SPOTS:
        return "this work covers the whole area, not spot by spot"
    if asks_about_pressure(text) and step.technique in STILL:
        return "still hands press nothing to ask about"
    return None


def asks_about_pressure(text: str) -> bool:
    """Whether `text` asks how the pressure is ("Ask: is this pressure all right?")."""
    return bool(_ASKS.search(text))


def asks_pressure(step: Step, routine: Routine) -> bool:
    """Whether a pressure check-in makes sense during `step`: firm work the receiver feels,
    not still hands, light strokes, oil or brief percussion."""
    technique = routine.techniques[step.technique]
    if step.technique in STILL or step.technique == "oil" or is_tapotement(technique):
        return False
    return firm(step, technique)


# -- the halfway line ------------------------------------------------------------------------


def halfway_text(left: int) -> str:
    """The halfway line for `left` samples to go, in whole minutes (so within 30 s)."""
    minutes = round(left / S / 60)
    return f"Halfway. About {minutes} minutes to go." if minutes >= 2 else "Halfway."


def halfway_texts(duration: int, late: int) -> list[str]:
    """Every halfway line the bell may carry when it lands within `late` of the middle."""
    middle = duration // 2
    return list(
        dict.fromkeys(
            halfway_text(left)
            for left in range(middle - late - 30 * S, middle + late + 30 * S, 10 * S)
        )
    )
