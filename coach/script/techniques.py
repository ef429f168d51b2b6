"""The technique library: what each massage technique is, how fast, how firm, what to avoid.

The narration is spoken at a step's start (instruction, then tempo, then cautions), so every
phrase is short: second person, present tense, a few clauses. Pressure uses the 1-10 scale and
never asks for more than 6: from 7 up the body braces and soreness follows.
"""

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


# Sources of the cautions (coach/safety.py lists them in full): massage-school teaching of
# Swedish massage for the spine, the kidneys and tapotement; the self-massage section of the
# guide the built-in routines follow for the ball and the roller.
SPINE = "Work beside the spine, never on it."  # [school]
BALL_SPINE = "Keep the ball off the spine."  # [guide:Self-massage] off the spine

_TECHNIQUES = (
    Technique(
        name="contact",
        label="Contact and breathing",
        say="Rest both hands flat on the back. Breathe slowly together.",
        tempo="Stay still. Follow the breath.",
        pressure="Just the weight of your hands, 1 out of 10.",
    ),
    Technique(
        name="oil",
        label="Applying oil",
        say="Warm a little oil in your palms. Spread it with long, light strokes.",
        tempo="Take your time; no hurry.",
        pressure="Light, 2 out of 10.",
        cautions=("Keep one hand on the back while you reach for the oil.",),  # [school]
    ),
    Technique(
        name="effleurage",
        label="Effleurage",
        say="Glide both hands up beside the spine, out over the shoulders, and down the sides.",
        tempo="Slowly: one stroke every six to eight seconds.",
        pressure="Light to medium, 3 to 5 out of 10.",
        cautions=(SPINE,),
        # A relaxing 50 cm stroke near 3 cm/s takes 6-10 s: about 8 a minute.
        per_minute=8,
    ),
    Technique(
        name="petrissage",
        label="Petrissage",
        say="Knead the muscle: lift, squeeze and roll it between fingers and thumbs.",
        tempo="Steady and unhurried, one squeeze every two seconds.",
        pressure="Medium, 4 to 6 out of 10.",
        cautions=(SPINE, "Lean your body weight in; keep your arms soft."),
        per_minute=30,
    ),
    Technique(
        name="tapotement",
        label="Tapotement",
        # [guide] its hand shapes: the edges of the hands, cupped hands, the fingertips
        say="Tap lightly and briefly with loose hands: the edges of your hands, cupped hands, "
        "or your fingertips.",
        # [school] 4-10 light strikes a second: speed builds, the force never does.
        tempo="Quick and light. Speed up, stay light, then taper off.",
        pressure="Light, 2 to 3 out of 10.",
        # [school] no tapotement over the kidneys, on bony points, or on the neck
        cautions=("Not over the spine, the kidneys, bones, or the neck.",),
        # 4-10 strikes a second is too fast for a tick to help; the hands find their own rhythm.
        per_minute=None,
    ),
    Technique(
        name="friction",
        label="Friction",
        say="Make small, firm circles with your fingertips or thumbs, moving the skin.",
        tempo="About one circle a second.",
        pressure="Medium, 4 to 6 out of 10.",
        cautions=(SPINE,),
        per_minute=60,
    ),
    Technique(
        name="vibration",
        label="Vibration",
        say="Rest your palm flat and tremble it quickly, then move to a new spot.",
        tempo="Fast, fine trembling.",
        pressure="Light, 2 to 4 out of 10.",
        cautions=("At most ten seconds on one spot.",),  # [school]
    ),
    Technique(
        name="thumb-press",
        label="Thumb presses",
        say="Press slowly with your thumbs beside the spine as your partner breathes out.",
        tempo="One press each out-breath. Ease off as they breathe in.",
        pressure="Medium, up to 6 out of 10.",
        cautions=(SPINE,),
        per_minute=10,
    ),
    Technique(
        name="stretch",
        label="Stretch",
        say="Stretch gently, only as far as is comfortable.",
        tempo="Slowly. Breathe normally.",
        pressure="Gentle, a stretch of 3 out of 10 at most, no bouncing.",
        cautions=("Stop if it hurts.",),
    ),
    Technique(
        name="rest",
        label="Rest",
        say="Rest your hands still and breathe slowly.",
        tempo="Stay still.",
        pressure="No pressure at all.",
    ),
    Technique(
        name="tennis-ball",
        label="Tennis ball",
        say="Lean against the ball at the wall and roll it slowly over the muscle.",
        tempo="Slowly. Hold a tender spot and breathe.",
        pressure="Firm but easy, 6 out of 10 at most.",
        cautions=(BALL_SPINE,),
    ),
    Technique(
        name="foam-roller",
        label="Foam roller",
        say="Lie on the roller, hands behind your head to support it. Lift your hips, and roll "
        "from the shoulder blades to mid-back.",
        tempo="Slowly, one roll every six seconds.",
        pressure="Moderate, 6 out of 10 at most.",
        cautions=("Never roll the lower back or the neck.",),  # [guide:Self-massage]
        per_minute=10,
    ),
    Technique(
        name="cat-cow",
        label="Cat-cow",
        say="On hands and knees, round your back as you breathe out, then let it dip as you "
        "breathe in.",
        tempo="One movement each breath.",
        pressure="Gentle, 3 out of 10 at most, no strain.",
        cautions=("Move only as far as is comfortable.",),
        per_minute=6,
    ),
    Technique(
        name="childs-pose",
        label="Child's pose",
        say="Sit back on your heels, arms forward, forehead down. Let your back lengthen.",
        tempo="Stay still and breathe slowly.",
        pressure="Gentle, 3 out of 10 at most, no strain.",
    ),
    Technique(
        name="knee-hug",
        label="Knee hug",
        say="Lie on your back and hug both knees to your chest.",
        tempo="Rock gently, or stay still.",
        pressure="Gentle, 3 out of 10 at most, no strain.",
    ),
)

LIBRARY: dict[str, Technique] = {t.name: t for t in _TECHNIQUES}

# How scaling to a new length may stretch or shrink a step of each technique, in seconds
# (min, max); None: no limit. Tapotement is brief (about a minute at most); vibration stays at
# most ten seconds on a spot, so about four spots a step; oil needs time to warm and spread;
# contact needs a few breaths. A step the author wrote outside these limits keeps its own
# length on that side.
SECONDS: dict[str, tuple[int | None, int | None]] = {
    "tapotement": (None, 60),
    "vibration": (None, 40),
    "oil": (45, None),
    "contact": (20, None),
}
# Petrissage takes most of a massage's time; these give and take time first.
FLEXIBLE = frozenset({"effleurage", "petrissage", "thumb-press"})
# Hands still (or a held pose): silence is the point, no progress lines.
STILL = frozenset({"contact", "rest", "childs-pose", "knee-hug"})
# The tempo in a few words, for when it is said again after a long absence.
PACE = {
    "effleurage": "Long, unhurried strokes.",
    "petrissage": "Steady and unhurried.",
    "friction": "Small circles, about one a second.",
    "thumb-press": "Press as they breathe out.",
    "tennis-ball": "Roll slowly.",
    "foam-roller": "Roll slowly.",
}
