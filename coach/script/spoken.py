"""What the coach says: its own lines (a routine's [phrases] may replace them), every text it
may ask the speech engine for, and narration split into phrases."""

from __future__ import annotations

import re

from coach.script.model import Routine, Step
from coach.script.pacing import halfway_texts
from coach.script.safety import own_cautions, spoken_cautions
from coach.script.techniques import PACE, STILL
from coach.timeline import SAMPLE_RATE

# The coach's own phrases; a routine's [phrases] table may replace each list.
CHECK_INS = (
    "Check in. Ask: how is the pressure, one to ten? Stay at six or below.",
    "Ask your partner: more pressure, less, or just right?",
    "Watch their breathing. If they tense up or hold their breath, ease off.",
    "Ask if any spot feels tender. Go lighter there.",
    "How does it feel? Ask, and adjust the pressure.",
    "Look for a wince or a held breath. Both mean: lighter.",
    "Ask: is there anywhere you'd like more time?",
    "Check the pressure again: six out of ten is plenty.",
)
POSTURE = (
    "Check your stance: feet apart, knees soft, back straight.",
    "Lean your body weight into the stroke. Don't push with your arms.",
    "Relax your shoulders, and keep your own breath easy.",
    "Keep your wrists straight and your hands soft.",
    "Move your feet as you work, rather than reaching.",
    "Soften your knees, and let your weight do the work.",
    "Check your own breath: slow and easy.",
    "If you kneel, keep a cushion under your knees.",
)
NEXT = ("Next: {title}.",)
PROGRESS = (
    "Move on to a new spot, a hand's width away.",
    "Keep the same slow rhythm.",
    "Take your time. There's no hurry.",
    "Good. Keep going like this.",
    "Let your hands follow the shape of the back.",
    "Breathe out slowly, and let the work flow.",
    "Notice where it feels tight, and linger there.",
)
ONE_MINUTE_LEFT = "About a minute more here."
SESSION_END = (
    "That's the end of the session. Let them rest a moment, there's no rush.",
    "And that's the end of the massage. Let them lie still a while; there's no hurry.",
    "That's all for today. Let them rest a moment before they move.",
)
SELF_SESSION_END = (
    "That's the end of the session. Rest a moment, there's no rush.",
    "And that's the end. Stay still a while; there's no hurry.",
    "That's all for today. Rest a moment before you get up.",
)


def sentences(text: str) -> list[str]:
    """Split narration into phrases: each is its own clip, with a short pause between.

    Phrases are sentences; a sentence of more than 25 words (about 11 s at 120 words a minute)
    is cut at its commas, semicolons and colons, joining short clauses back up to 25 words, and
    a clause still longer into even runs of at most 25 words. So no one clip is huge: a single
    unpunctuated 500-word clip took 484 MB to normalize, 5000 words 3.86 GB.
    """
    limit = 25
    phrases: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
        if len(sentence.split()) <= limit:
            phrases += [sentence] if sentence else []
            continue
        run: list[str] = []
        for clause in re.split(r"(?<=[,;:])\s+", sentence):
            words = clause.split()
            if run and len(run) + len(words) > limit:
                phrases.append(" ".join(run))
                run = []
            while len(words) > limit:  # even runs: 60 words make 20 + 20 + 20, not 25 + 25 + 10
                size = -(-len(words) // -(-len(words) // limit))
                phrases.append(" ".join(words[:size]))
                words = words[size:]
            run += words
        phrases.append(" ".join(run))
    return phrases


# An area that opens with one of these says where by itself ("beside the spine"); any other
# is a surface the hands work over ("upper back").
_PLACED = {"beside", "between", "around", "along", "over", "on", "under", "from", "across", "at"}
_PLAIN = {"the", "and", "a", "of", "to", "your", "their", "his", "her", "with", "its"}


# Said in turn where the same place comes again.
# ("Work beside the spine ..." would echo the spine's caution, "Work beside the spine, never on
# it.")
PLACE = ("Your hands go {where}.", "Your hands move {where}.", "Bring your hands {where}.")


def place_lines(routine: Routine, seed: int = 0) -> list[str | None]:
    """By step: where the hands work, when the step's own instruction does not say it (none
    of the area's words in it). Every working step says where; still hands need not, nor
    a routine in another language (its words cannot be told apart in English)."""
    times: dict[str, int] = {}
    lines: list[str | None] = []
    if not english(routine):
        return [None] * len(routine.steps)
    for step in routine.steps:
        area = " ".join(step.area.split()).rstrip(".")
        named = set(re.findall(r"[a-z]+", area.lower())) - _PLAIN
        if (
            step.technique in STILL
            or not named
            or named & set(re.findall(r"[a-z]+", step.say.lower()))
        ):
            lines.append(None)
            continue
        where = _where(area)
        k = times[where] = times.get(where, -1) + 1
        lines.append(PLACE[(seed + k) % len(PLACE)].format(where=where))
    return lines


def english(routine: Routine) -> bool:
    return routine.language.lower().replace("_", "-").split("-")[0] == "en"


def _turn(texts: tuple[str, ...], seed: int) -> tuple[str, ...]:
    """`texts` in the same order, starting from the one `seed` picks."""
    k = seed % len(texts) if texts else 0
    return texts[k:] + texts[:k]


def _where(area: str) -> str:
    """The area as a place: "beside the spine" as it is, "upper back" as "over the upper back"."""
    area = " ".join(area.split()).rstrip(".")
    return area if area.split()[0].lower() in _PLACED else f"over the {area}"


class Words:
    """Every text the coach may say for a routine (its phrases, or the English defaults)."""

    def __init__(self, routine: Routine, total: int, seed: int = 0):
        """`seed` picks among the coach's alternatives for its own lines: which comes first
        in each rotation, which closing words; the same seed, the same words."""
        self.routine = routine
        phrases = routine.phrases
        partner = routine.coaching.partner
        self.english = english(routine)
        check_ins = tuple(phrases.get("check_ins") or CHECK_INS)
        # The first check-in asks the pressure on the 1-10 scale: the others take turns.
        self.check_ins = (check_ins[0], *_turn(check_ins[1:], seed))
        self.posture = _turn(tuple(phrases.get("posture") or POSTURE), seed)
        self.progress = _turn(PROGRESS, seed)
        self.next = (phrases.get("next") or NEXT)[0]
        endings = phrases.get("ending") or (SESSION_END if partner else SELF_SESSION_END)
        self.ending = endings[seed % len(endings)]
        custom = phrases.get("halfway")
        self.halfway = custom[0] if custom else None  # None: the time left, where it lands
        self.halfways = [custom[0]] if custom else halfway_texts(total, 2 * 60 * SAMPLE_RATE)
        self.cautions = spoken_cautions(routine, seed)  # by step: its place's, every time
        self.own_cautions = own_cautions(routine)  # by step: its technique's, at first use
        self.places = place_lines(routine, seed)

    def title(self, step: Step) -> str:
        """A step's title as a guide says it at the step's start ("Now, light tapotement."),
        not as a label; a title the coach made from the technique and area says where
        ("Now, vibration over the upper back."). Another language's titles stay as written."""
        if not self.english:
            return f"{step.title}."
        technique = self.routine.techniques[step.technique]
        said = step.title
        if self.title_says_where(step):
            said = f"{technique.label}, {_where(step.area)}".replace(", ", " ", 1)
        lower = said[:1].lower() + said[1:] if said[1:2].islower() else said
        return f"Now, {lower}."

    def title_says_where(self, step: Step) -> bool:
        """Whether the title is the one the coach made: the technique's label and the area."""
        technique = self.routine.techniques[step.technique]
        return step.title == f"{technique.label}, {step.area}"

    def heads_up(self, title: str) -> str:
        return self.next.replace("{title}", title)

    def pressure(self, technique) -> tuple[str, ...]:
        return tuple(sentences(technique.pressure))

    def tempo(self, technique, again: bool) -> tuple[str, ...]:
        short = PACE.get(technique.name) if again else None
        return tuple(sentences(short or technique.tempo))

    def step_texts(self, i: int) -> list[str]:
        """What step `i` may say: its title, own words, place, heads-up, reminders, pressure,
        tempo and cautions."""
        step = self.routine.steps[i]
        technique = self.routine.techniques[step.technique]
        texts = [self.title(step), *sentences(step.say), self.places[i]]
        texts += [self.heads_up(step.title)] if i else []
        texts += [r.say for r in step.reminders]
        texts += [*self.pressure(technique), *self.tempo(technique, False)]
        texts += self.tempo(technique, True)
        texts += [s for c in self.cautions[i] + self.own_cautions[i] for s in sentences(c)]
        return [t for t in texts if t]

    def coach_texts(self) -> list[str]:
        """The coach's own lines that any step may hold: check-ins, posture, progress, the
        halfway line and the closing words."""
        texts = [*self.check_ins, *self.posture, *self.progress, ONE_MINUTE_LEFT]
        return [t for t in [*texts, *self.halfways, self.ending] if t]

    def candidates(self) -> list[str]:
        steps = [t for i in range(len(self.routine.steps)) for t in self.step_texts(i)]
        return list(dict.fromkeys([*steps, *self.coach_texts()]))
