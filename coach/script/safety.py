"""What the coach says to keep a massage safe: the pre-roll, the cautions by place, aftercare.

Pure words and rules, no timing (framing.py places the pre-roll and the aftercare; the
compiler speaks the cautions at a step's start). Every spoken line carries its source beside
it, as one of these keys:

- [guide:SECTION] the step-by-step back-massage guide the built-in routines follow, by section
  (Preparation, Safety, Self-massage).
- [Mayo] Mayo Clinic, "Massage: Get in touch with its many benefits", section "Risks of
  massage": massage may not suit bleeding disorders or low platelet counts, blood thinners,
  burns or healing wounds, deep vein thrombosis, fractures, severe osteoporosis; talk to a
  doctor first with pregnancy, cancer or unexplained pain; it can leave you a bit sore the
  next day.
- [ABMP] Associated Bodywork & Massage Professionals, client intake and contraindications:
  ask before touching (recent injury, fever, skin conditions, allergies to oils and lotions);
  agree on feedback, a 1-10 pressure scale; numbness, tingling, sharp, shooting or burning
  pain are nerve signs: stop.
- [school] massage-school teaching of Swedish massage: the kidneys (about T12-L3, below the
  ribs) are poorly protected, so light pressure on the lower back and no tapotement there;
  work beside the spine, never on it; tapotement is light, quick and brief, never over bone or
  the neck; in pregnancy no face-down work, side-lying instead, no hacking. Its aftercare: get
  up slowly, drink water, keep warm; a relaxing massage once or twice a week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coach.script.model import Routine, Step
from coach.script.techniques import BALL_SPINE, SPINE, Technique

# -- The pre-roll ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One thing the pre-roll or aftercare says. `role` names it for people and tests;
    `answer`: a question, followed by silence long enough to answer it."""

    role: str
    text: str
    answer: bool = False


def welcome(routine: Routine) -> Line:
    return Line("welcome", f"Welcome to {routine.title}. First, a few minutes to get ready.")


def preparation(routine: Routine) -> tuple[Line, ...]:
    """What you need and how to lie, from the techniques the routine uses."""
    used = {s.technique for s in routine.steps}
    if routine.coaching.partner:
        things = "a quiet, warm room, a firm, padded surface, and two towels"  # [guide:Preparation]
        if "oil" in used:
            things += ", with the oil within reach"  # [guide:Preparation]
        return (
            Line("prepare", f"You need {things}."),
            # [guide:Preparation] face down, covered; a rolled towel under the ankles
            Line(
                "position",
                "Your partner lies face down, covered with a towel where you are not working.",
            ),
            # [school] the giver's knees on the floor: "cushions under the knees on the floor"
            Line("position", "Kneeling on the floor? Put a cushion under your knees."),
        )
    things = []
    if "tennis-ball" in used:
        things.append("a tennis ball in a sock, a clear wall")  # [guide:Self-massage]
    if "foam-roller" in used:
        things.append("a foam roller")  # [guide:Self-massage]
    if used & _FLOOR:
        things.append("a mat, and a cushion for your knees")  # [school] cushion for floor work
    if not things:
        return ()
    return (Line("prepare", f"You need {', '.join(things)}."),)


_FLOOR = {"foam-roller", "cat-cow", "childs-pose", "knee-hug"}


def screening_lines(routine: Routine) -> tuple[Line, ...]:
    """Questions before any touch, with time to answer (for yourself: a checklist)."""
    if routine.coaching.partner:
        return (
            Line("screening", "Now ask your partner, and wait for each answer."),  # [ABMP]
            # [Mayo] fractures, severe osteoporosis; [ABMP] recent injury
            Line("question", "Any recent injury, broken bone, or osteoporosis?", answer=True),
            # [Mayo] blood clots, bleeding disorders, blood thinners; [ABMP] fever
            Line(
                "question",
                "Any fever, blood clot, or bleeding disorder? Do you take blood thinners?",
                answer=True,
            ),
            # [Mayo] burns or healing wounds; [ABMP] skin infections
            Line("question", "Any burns, wounds, or skin infection on your back?", answer=True),
            # [Mayo] talk to a doctor first: pregnancy, cancer, unexplained pain
            Line(
                "question",
                "Are you pregnant? Any cancer, or pain without a known cause?",
                answer=True,
            ),
            Line("question", "Any allergy to oils or lotions?", answer=True),  # [ABMP]
            Line("screening", "If any answer is yes, don't massage today: ask a doctor first."),
            # [school] pregnancy: no face-down work, side-lying instead, no hacking; [Mayo]
            Line(
                "screening",
                "In pregnancy, not this face-down massage: only lying on the side, "
                "with a doctor's agreement, and no tapping.",
            ),
        )
    return (
        Line(
            "screening",
            "Check yourself first. Skip this today, and ask a doctor, with any of these.",
        ),
        Line("screening", "A recent injury, a broken bone, or osteoporosis."),  # [Mayo] [ABMP]
        # [Mayo] blood clots, bleeding disorders, blood thinners; [ABMP] fever
        Line("screening", "A fever, a blood clot, a bleeding disorder, or blood thinners."),
        Line("screening", "Burns, wounds, or a skin infection on your back."),  # [Mayo] [ABMP]
        Line("screening", "Pregnancy, cancer, or pain without a known cause."),  # [Mayo]
    )


def feedback(routine: Routine) -> tuple[Line, ...]:
    if not routine.coaching.partner:
        return ()
    # [ABMP] agree on feedback before touching; [guide:Safety] "ignoring feedback" is a mistake
    return (
        Line(
            "feedback", "Agree on three words: more, less, and stop. A raised hand means stop too."
        ),
    )


def stop_rule(routine: Routine) -> Line:
    signs = "sharp, shooting or burning pain, numbness, tingling, or dizziness"  # [ABMP]
    if routine.coaching.partner:
        return Line("stop", f"Stop at once if they feel {signs}, or if they say stop.")
    return Line("stop", f"Stop at once if you feel {signs}.")


def ready(routine: Routine) -> Line:
    who = "you're both" if routine.coaching.partner else "you're"
    return Line("ready", f"When {who} ready, the massage begins with a chime.")


# -- Aftercare --------------------------------------------------------------------------------


def aftercare(routine: Routine) -> tuple[Line, ...]:
    if routine.coaching.partner:
        lines = (
            # [school] get up slowly: lying down a while can leave you light-headed
            Line(
                "aftercare",
                "Let your partner lie still a minute, then roll to one side and "
                "sit up slowly before standing.",
            ),
            Line("aftercare", "Offer a glass of water, and keep them warm."),  # [school]
        )
    else:
        lines = (
            Line("aftercare", "Roll to one side and get up slowly."),  # [school]
            Line("aftercare", "Drink some water, and keep warm."),  # [school]
            # [guide:Self-massage] heat or cold after: a warm towel or an ice pack
            Line(
                "heat-cold",
                "A warm towel eases stiff muscles. An ice pack, wrapped in a "
                "cloth, calms a sore spot.",
            ),
        )
    return (
        *lines,
        # [Mayo] "a bit sore the next day"; a pain that lasts is for a professional
        Line(
            "aftercare",
            "A little soreness for a day or two is normal. If pain lasts, or is "
            "sharp, see a doctor or a physiotherapist.",
        ),
        # [school] how often
        Line("aftercare", "A gentle massage like this can be done once or twice a week."),
    )


# -- Cautions by place --------------------------------------------------------------------------

# [school] the kidneys sit below the ribs, poorly protected: only light work there.
KIDNEYS = "Go light on the lower back, over the kidneys below the ribs."
SELF_LOWER_BACK = "Gently on the lower back."  # [guide:Self-massage] "gently"

LIGHT = 3  # out of 10: at or below this, a technique is light anywhere on the back

_OUT_OF_TEN = re.compile(
    r"\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+out\s+of\s+(?:10|ten)\b", re.I
)
_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def pressure_of(text: str) -> int | None:
    """The highest "N out of 10" in `text` (digits or words), or None when it gives none."""
    found = [
        int(n) if n.isdigit() else _WORDS.index(n.lower()) + 1 for n in _OUT_OF_TEN.findall(text)
    ]
    return max(found) if found else None


def is_tapotement(technique: Technique) -> bool:
    """Percussion: the built-in tapotement, or an own technique that taps, hacks or cups."""
    text = f"{technique.name} {technique.label} {technique.say}".lower()
    return technique.name == "tapotement" or bool(
        re.search(r"\b(tap|taps|tapping|hack|hacking|cupping|pound|pounding|percuss\w*)\b", text)
    )


def near_lower_back(area: str) -> bool:
    """Whether work on `area` reaches the lower back: named, the whole back, its sides, or the
    spine not limited to the upper back."""
    area = area.lower()
    if re.search(r"lower back|lower spine|lumbar|kidney|waist|whole back|sides of the back", area):
        return True
    return "spine" in area and "upper" not in area


def firm(step: Step, technique: Technique) -> bool:
    """More than light work: percussion, or a pressure above light that the step's own words
    do not soften ("stroke lightly", "gently")."""
    if is_tapotement(technique):
        return True
    pressure = pressure_of(technique.pressure)
    softened = re.search(r"\b(light|lightly|lighter|gentle|gently|softly)\b", step.say.lower())
    return pressure is not None and pressure > LIGHT and not softened


def _place(routine: Routine, step: Step) -> tuple[str, ...]:
    """The cautions that matter where `step` works, with what it works with."""
    technique = routine.techniques[step.technique]
    found = []
    if technique.name == "tennis-ball":
        found.append(BALL_SPINE)
    elif "spine" in step.area.lower() and firm(step, technique):
        found.append(SPINE)
    if near_lower_back(step.area) and firm(step, technique):
        found.append(KIDNEYS if routine.coaching.partner else SELF_LOWER_BACK)
    return tuple(found)


def cautions_for(routine: Routine, i: int) -> tuple[str, ...]:
    """What step `i` (0-based) says to keep it safe: the technique's own cautions where it is
    first used, then the cautions of its place. A caution the step before needed too is not
    repeated unless the technique or the area changed."""
    step = routine.steps[i]
    technique = routine.techniques[step.technique]
    said: list[str] = []
    if all(s.technique != step.technique for s in routine.steps[:i]):
        said += technique.cautions
    before = routine.steps[i - 1] if i else None
    same = before is not None and (before.technique, before.area) == (step.technique, step.area)
    for caution in _place(routine, step):
        if caution in said or (same and caution in _place(routine, before)):
            continue
        said.append(caution)
    return tuple(said)


def pre_roll(routine: Routine, screening: bool = True) -> tuple[Line, ...]:
    """Everything said before the massage clock starts, in order. `screening` False leaves out
    the questions (the stop rule stays). A routine's own `phrases["safety"]` lines (its
    language) replace the English: a line ending in "?" gets time for the answer."""
    own = getattr(routine, "phrases", {}).get("safety")
    if own:
        return tuple(Line("safety", text, answer=text.rstrip().endswith("?")) for text in own)
    lines = [welcome(routine), *preparation(routine)]
    if screening:
        lines += screening_lines(routine)
    return (*lines, *feedback(routine), stop_rule(routine), ready(routine))
