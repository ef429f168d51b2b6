"""Safety in every step, checked on the timelines a user gets (preview, play and export use
them) for every built-in at half, full and three times its length, with and without the
health questions: each step near the spine, the kidneys or the neck says its caution before
its instruction and within 10 s; each working step says where the hands are; the pre-roll
gives answers time, teaches the 1-10 scale and says how to pause for longer."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest
from script_rules import BUILTINS, SEEDS, SHARES, massage_steps
from script_rules import built as timeline

from coach.script.compiler import compile_routine
from coach.script.routine import find_routine, load_routine
from coach.script.safety import SAID_OTHERWISE, place_cautions
from coach.script.techniques import STILL
from coach.session import SessionSpec, build
from coach.sound.cues import Cues
from coach.sound.speech import Estimate
from coach.timeline import SAMPLE_RATE as S


@pytest.fixture(scope="module", params=itertools.product(BUILTINS, SHARES, [True, False], SEEDS))
def built(request):
    routine, t = timeline(*request.param)
    return routine, t, request.param[2]


def test_each_step_near_the_spine_kidneys_or_neck_says_its_caution_first(built):
    routine, t, _ = built
    for step, span in zip(routine.steps, massage_steps(t), strict=True):
        said = [e for e in t.speech() if e.step == span.index]
        instruction = min(e.start for e in said if e.role == "instruction")
        for caution in place_cautions(routine, step):
            ways = SAID_OTHERWISE.get(caution, (caution,))
            (e,) = [e for e in said if e.role == "caution" and e.text in ways]
            assert e.start <= span.start + 10 * S, (span.title, e.text)
            assert e.start < instruction, (span.title, e.text)


def test_a_step_that_names_the_spine_says_a_spine_caution(built):
    """Told apart from the rules' own tables: the area's words, the spoken words."""
    routine, t, _ = built
    for step, span in zip(routine.steps, massage_steps(t), strict=True):
        if "spine" in f"{step.area} {step.say}".lower() and step.technique not in STILL:
            early = [e.text.lower() for e in t.speech() if e.step == span.index]
            assert any("spine" in x and re.search(r"never|off|beside", x) for x in early), span


def test_each_working_step_says_where_the_hands_are(built):
    routine, t, _ = built
    for step, span in zip(routine.steps, massage_steps(t), strict=True):
        if step.technique in STILL:
            continue
        area = set(re.findall(r"[a-z]+", step.area.lower())) - {"the", "and", "to", "of"}
        early = [e for e in t.speech() if e.step == span.index and e.start < span.start + 20 * S]
        spoken = set(re.findall(r"[a-z]+", " ".join(e.text for e in early).lower()))
        assert area & spoken, (span.title, step.area)


def test_the_pre_roll_gives_answers_time_and_teaches_the_scale(built):
    routine, t, safety = built
    before = [e for e in t.speech() if e.end <= t.massage_start]
    said = " ".join(e.text for e in before).lower()
    assert "one to ten" in said and "six or below" in said  # the scale, for whoever feels it
    asks = [e for e in before if e.role in ("question", "check")]
    assert bool(asks) == safety
    if not safety:
        return
    assert "pause the guide" in said
    for ask in asks:
        following = min(e.start for e in t.events if e.start > ask.start)
        assert following - ask.end >= 6 * S, ask.text
    if routine.coaching.partner:
        allergy = next(k for k, e in enumerate(before) if "allergy" in e.text)
        assert "another oil, or none" in before[allergy + 1].text


def test_self_massage_gets_down_to_the_floor_before_the_roller():
    t = build(SessionSpec("self-massage"), estimate=True).timeline
    roller = next(s for s in t.steps if s.technique == "foam-roller")
    first = min((e for e in t.speech() if e.step == roller.index), key=lambda e: e.start)
    opening = [
        e.text for e in t.speech() if e.step == roller.index and e.start < first.end + 20 * S
    ]
    assert any("floor" in x for x in opening)


def test_a_routine_in_another_language_gets_no_english_place_line_or_guide_title():
    german = replace(load_routine(find_routine("classic-back")), language="de")
    t = compile_routine(german, Estimate(), Cues())
    assert not [e for e in t.speech() if e.role == "place" or e.text.startswith("Now, ")]
    assert any(e.role == "title" for e in t.speech())  # said as written
