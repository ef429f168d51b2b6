"""The built-in routines: they load, last exactly as long as promised, and leave room to talk."""

from __future__ import annotations

import itertools
import re

import pytest

from coach.script.compiler import compile_routine
from coach.script.routine import builtin_routines, find_routine, load_routine
from coach.script.techniques import LIBRARY
from coach.sound.cues import Cues
from coach.sound.espeak import Speech
from coach.timeline import SAMPLE_RATE

SR = SAMPLE_RATE
ROUTINES = {p.stem: load_routine(p) for p in builtin_routines()}
ARTICLE_FIVE = ["effleurage", "petrissage", "tapotement", "friction", "vibration"]


def step_starts(routine) -> list[int]:
    starts, t = [], 0
    for step in routine.steps:
        starts.append(t)
        t += step.duration
    return starts


def test_the_three_builtins_exist():
    assert set(ROUTINES) == {"classic-back", "quick-relief", "self-massage"}


@pytest.mark.parametrize(
    ("name", "minutes", "partner"),
    [("classic-back", 20, True), ("quick-relief", 5, True), ("self-massage", 10, False)],
)
def test_durations_to_the_sample(name, minutes, partner):
    routine = load_routine(find_routine(name))
    assert routine.duration == minutes * 60 * SR
    assert routine.coaching.partner is partner


@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_techniques_are_in_the_library(name):
    assert all(step.technique in LIBRARY for step in ROUTINES[name].steps)


def test_classic_back_follows_the_guide_in_order():
    steps = ROUTINES["classic-back"].steps
    outline = [
        ("contact", 60),
        ("effleurage", 90),  # warm-up, no oil
        ("oil", 60),
        ("effleurage", 150),  # with oil, gradually firmer
        ("petrissage", 240),
        ("tapotement", 60),
        ("effleurage", 30),  # linking
        ("thumb-press", 210),  # tight spots
        ("effleurage", 90),  # adjusting pressure and speed
        ("friction", 90),
        ("vibration", 30),
        ("effleurage", 90),  # closing, then still hands
    ]
    assert [(s.technique, s.duration) for s in steps] == [(t, d * SR) for t, d in outline]
    first_use = [next(s.index for s in steps if s.technique == t) for t in ARTICLE_FIVE]
    assert first_use == sorted(first_use)


def test_classic_back_asks_about_the_pressure_at_about_four_and_a_half_minutes():
    timeline = compile_routine(ROUTINES["classic-back"], Speech(), Cues())
    first = next(e for e in timeline.events if e.role == "check-in")
    assert "pressure" in first.text.lower()
    assert 270 * SR <= first.start <= 285 * SR  # "about 4:30", and within the first five


@pytest.mark.parametrize(
    ("name", "title"), [("classic-back", "Petrissage"), ("quick-relief", "Shoulder kneading")]
)
def test_kneading_switches_sides_at_its_middle(name, title):
    (step,) = [s for s in ROUTINES[name].steps if s.title == title]
    switches = [r for r in step.reminders if "switch sides" in r.say.lower()]
    assert [r.at for r in switches] == [step.duration // 2]


def test_quick_relief_switches_at_two_fifteen():
    routine = ROUTINES["quick-relief"]
    (step,) = [s for s in routine.steps if s.title == "Shoulder kneading"]
    start = step_starts(routine)[step.index - 1]
    assert start + step.reminders[0].at == 135 * SR
    # ...and that is where it is said.
    timeline = compile_routine(routine, Speech(), Cues())
    (switch,) = [e for e in timeline.speech() if e.text.startswith("Switch sides")]
    assert switch.start == 135 * SR


def test_self_massage_holds_tender_spots_and_spares_the_lower_back():
    routine = ROUTINES["self-massage"]
    said = " ".join(r.say for s in routine.steps for r in s.reminders)
    assert "20 to 30 seconds" in said and "Breathe normally" in said
    (roller,) = [s for s in routine.steps if s.technique == "foam-roller"]
    assert any("lower back" in c for c in routine.techniques["foam-roller"].cautions)
    assert "lower back" in " ".join(r.say for r in roller.reminders)


@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_every_reminder_is_spoken_exactly_when_written(name):
    """Compiled with real espeak-ng lengths: every step's words fit, no reminder is moved."""
    routine = ROUTINES[name]
    speech = Speech(voice=routine.voice, rate=routine.rate, language=routine.language)
    timeline = compile_routine(routine, speech, Cues())
    spoken = {(e.start, e.text) for e in timeline.events if e.role == "reminder"}
    for step, start in zip(routine.steps, step_starts(routine), strict=True):
        for reminder in step.reminders:
            assert (start + reminder.at, reminder.say) in spoken, (step.title, reminder.say)


@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_reminders_are_spaced_and_clear_of_the_heads_up(name):
    for step in ROUTINES[name].steps:
        ats = [r.at for r in step.reminders]
        assert all(at <= step.duration - 15 * SR for at in ats), step.title
        assert all(b - a >= 20 * SR for a, b in itertools.pairwise(ats)), step.title


def test_library_pressure_never_asks_for_more_than_six():
    for technique in LIBRARY.values():
        asked = technique.pressure.replace("out of 10", "")
        numbers = [int(n) for n in re.findall(r"\d+", asked)]
        assert numbers or technique.name == "rest", technique.name
        assert all(n <= 6 for n in numbers), technique.name


def test_library_instructions_are_short():
    for technique in LIBRARY.values():
        sentences = [s for s in re.split(r"[.!?]", technique.say) if s.strip()]
        assert 1 <= len(sentences) <= 3, technique.name
        assert len(technique.say.split()) <= 25, technique.name


def test_library_has_the_required_techniques_and_safety_cautions():
    required = {*ARTICLE_FIVE, "contact", "oil", "thumb-press", "stretch", "rest"}
    assert required | {"tennis-ball", "foam-roller"} <= set(LIBRARY)
    cautions = {name: " ".join(t.cautions).lower() for name, t in LIBRARY.items()}
    assert "spine" in cautions["tapotement"] and "kidneys" in cautions["tapotement"]
    assert "beside the spine, never on it" in cautions["effleurage"]
    assert "lower back" in cautions["foam-roller"] and "neck" in cautions["foam-roller"]
    assert "ten seconds" in cautions["vibration"]
    assert "one hand on the back" in cautions["oil"]
