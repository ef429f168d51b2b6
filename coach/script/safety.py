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
    # "Welcome to Classic back massage." read as a label: the title stands on its own instead.
    return Line("welcome", f"Welcome. Today: {routine.title}. First, a few minutes to get ready.")


def preparation(routine: Routine) -> tuple[Line, ...]:
    """What you need and how to lie, from the techniques the routine uses."""
    used = {s.technique for s in routine.steps}
    # [guide:Preparation] "dim the lights, calming music"
    room = Line("room", "Dim the lights, and put on some calm music if you like.")
    if routine.coaching.partner:
        things = "a quiet, warm room, a firm, padded surface, and two towels"  # [guide:Preparation]
        if "oil" in used:
            things += ", with the oil within reach"  # [guide:Preparation]
        return (
            Line("prepare", f"You need {things}."),
            room,
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
        return (room,)
    return (Line("prepare", f"You need {', '.join(things)}."), room)


_FLOOR = {"foam-roller", "cat-cow", "childs-pose", "knee-hug"}
# The pre-roll leaves a few seconds for each answer; more needs the listener's own pause.
LONGER = "If an answer takes longer, pause the guide."
OILS = "Any allergy to oils or lotions, nut oils like almond included?"  # [ABMP] allergies


def screening_lines(routine: Routine) -> tuple[Line, ...]:
    """Questions before any touch, with time to answer (for yourself: a checklist, each item
    with time to think). An allergy asks for another oil, not for no massage."""
    if routine.coaching.partner:
        return (
            Line("screening", "Now ask your partner, and wait for each answer."),  # [ABMP]
            Line("screening", LONGER),
            # [Mayo] fractures, severe osteoporosis; [ABMP] recent injury or surgery
            Line(
                "question",
                "Any recent injury or surgery, broken bone, or osteoporosis?",
                answer=True,
            ),
            # [school] disc problems and sciatica: nerve signs, for a doctor first
            Line("question", "Any slipped disc, or pain running down a leg?", answer=True),
            # [Mayo] blood clots, bleeding disorders, blood thinners; [ABMP] fever
            Line(
                "question",
                "Any fever, blood clot, or bleeding disorder? Do you take blood thinners?",
                answer=True,
            ),
            # [ABMP] reduced sensation (diabetes, nerve damage): pain cannot warn in time
            Line("question", "Any numb areas, for example from diabetes?", answer=True),
            # [Mayo] burns or healing wounds; [ABMP] skin infections
            Line("question", "Any burns, wounds, or skin infection on your back?", answer=True),
            # [Mayo] talk to a doctor first: pregnancy, cancer, unexplained pain
            Line(
                "question",
                "Are you pregnant? Any cancer, or pain without a known cause?",
                answer=True,
            ),
            Line("screening", "If any answer is yes, don't massage today. Ask a doctor first."),
            # [school] pregnancy: no face-down work, side-lying instead, no hacking; [Mayo]
            Line(
                "screening",
                "For a pregnant partner, don't do this face-down massage. Lying on the side "
                "is safer, with a doctor's agreement, and no tapping.",
            ),
            Line("question", OILS, answer=True),
            Line("screening", "If so, use another oil, or none at all."),  # [ABMP]
        )
    return (
        Line(
            "screening",
            "First, check yourself. If any of these is true, skip the massage today, "
            "and ask a doctor.",
        ),
        Line("screening", LONGER),
        # [Mayo] [ABMP]
        Line("check", "A recent injury or surgery, a broken bone, or osteoporosis.", answer=True),
        Line("check", "A slipped disc, or pain running down a leg.", answer=True),  # [school]
        # [Mayo] blood clots, bleeding disorders, blood thinners; [ABMP] fever
        Line(
            "check", "A fever, a blood clot, a bleeding disorder, or blood thinners.", answer=True
        ),
        Line("check", "Numb areas, for example from diabetes.", answer=True),  # [ABMP]
        Line("check", "Burns, wounds, or a skin infection on your back.", answer=True),
        Line("check", "Pregnancy, cancer, or pain without a known cause.", answer=True),  # [Mayo]
    )


def feedback(routine: Routine) -> tuple[Line, ...]:
    """How to say what is too much: the words, and the 1-10 scale taught to whoever feels it
    (the check-ins and cautions use it)."""
    # [ABMP] a 1-10 pressure scale, agreed before touching
    scale = "One is barely a touch, and ten is painful. Stay at six or below."
    if not routine.coaching.partner:
        return (Line("scale", f"Pressure goes from one to ten. {scale}"),)
    # [ABMP] agree on feedback before touching; [guide:Safety] "ignoring feedback" is a mistake
    return (
        Line(
            "feedback", "Agree on three words: more, less, and stop. A raised hand means stop too."
        ),
        Line("scale", f"And to the one lying down: pressure goes from one to ten. {scale}"),
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
            # [guide:Aftercare] heat for soreness: a warm towel or a warm bath
            Line("heat-cold", "If they feel sore later, a warm towel or a warm bath helps."),
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
# [school] the neck: its front and sides carry arteries and nerves; no pressing there.
NECK = "Near the neck, only gentle strokes, never pressing."
# Other words for the same caution, said in turn: a caution comes with every step near its
# place, and one sentence said five times in twenty minutes reads as a recording.
SAID_OTHERWISE = {
    SPINE: (
        SPINE,
        "Stay beside the spine, off the bone itself.",
        "Keep your hands off the spine.",
        "Never press on the spine itself.",
    ),
    KIDNEYS: (
        KIDNEYS,
        "Light over the lower back: the kidneys sit just below the ribs.",
        "Below the ribs, over the kidneys, keep it light.",
    ),
    BALL_SPINE: (BALL_SPINE, "The ball stays off the bone of the spine."),
}

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


def place_cautions(routine: Routine, step: Step) -> tuple[str, ...]:
    """The cautions that matter where `step` works, with what it works with: percussion's own
    caution every time (it names the spine, the kidneys and the neck), the spine's beside it
    (named in the area, or a technique that works beside it by nature), the kidneys' below the
    ribs, the neck's."""
    technique = routine.techniques[step.technique]
    area = step.area.lower()
    found = [c for c in technique.cautions if is_tapotement(technique)]
    if technique.name == "tennis-ball":
        found.append(BALL_SPINE)
    elif SPINE in technique.cautions or ("spine" in area and firm(step, technique)):
        found.append(SPINE)
    if near_lower_back(step.area) and firm(step, technique):
        found.append(KIDNEYS if routine.coaching.partner else SELF_LOWER_BACK)
    if "neck" in area and not is_tapotement(technique):
        found.append(NECK)
    return tuple(found)


def step_cautions(routine: Routine) -> list[tuple[str, ...]]:
    """What each step says to keep it safe: the cautions of its place, in every step that
    works there, however often they were said before (a caution belongs to where the hands
    are, not to a count), then the technique's own where it is first used."""
    return [(*p, *o) for p, o in zip(_places(routine), own_cautions(routine), strict=True)]


def _places(routine: Routine) -> list[tuple[str, ...]]:
    return [place_cautions(routine, step) for step in routine.steps]


def own_cautions(routine: Routine) -> list[tuple[str, ...]]:
    """By step: the technique's own cautions where it is first used, less its place's."""
    used: set[str] = set()
    found = []
    for step, place in zip(routine.steps, _places(routine), strict=True):
        technique = routine.techniques[step.technique]
        first = technique.cautions if step.technique not in used else ()
        used.add(step.technique)
        found.append(tuple(c for c in dict.fromkeys(first) if c not in place))
    return found


def spoken_cautions(routine: Routine, seed: int = 0) -> list[tuple[str, ...]]:
    """By step, its place's cautions in the words it says them: a caution with other words
    (`SAID_OTHERWISE`) takes them in turn over the steps that say it, from a place `seed`
    picks. Depends on the routine alone, not on any layout."""
    times: dict[str, int] = {}
    spoken = []
    for cautions in _places(routine):
        said = []
        for caution in cautions:
            ways = SAID_OTHERWISE.get(caution, (caution,))
            said.append(ways[(seed + times.get(caution, 0)) % len(ways)])
            times[caution] = times.get(caution, 0) + 1
        spoken.append(tuple(said))
    return spoken


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
