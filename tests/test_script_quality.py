"""classic-back as a listener hears it, measured on real espeak-ng timelines: no sentence said
more than twice, no title echoed after its "Next:", the coach's own lines clear of other speech,
little talk while the hands work, and in a long session no long silence and varied check-ins."""

from __future__ import annotations

import itertools
import re

import pytest
from script_rules import (
    crowded,
    longest_silence,
    median_working_speech_share,
    repeated,
    title_echoes,
)

from coach.script.compiler import compile_routine
from coach.script.routine import builtin_routines, find_routine, load_routine
from coach.script.spoken import CHECK_INS, POSTURE
from coach.sound.cues import Cues
from coach.sound.espeak import Speech
from coach.timeline import SAMPLE_RATE as S

CLASSIC = load_routine(find_routine("classic-back"))
SPEECH = Speech(voice="en-us", rate=CLASSIC.rate)


@pytest.fixture(scope="module")
def twenty():
    return compile_routine(CLASSIC, SPEECH, Cues())


@pytest.fixture(scope="module")
def sixty():
    return compile_routine(CLASSIC, SPEECH, Cues(), minutes=60)


def test_no_sentence_is_said_more_than_twice(twenty):
    assert repeated(twenty) == {}


@pytest.mark.parametrize("name", [p.stem for p in builtin_routines()])
def test_no_builtin_says_a_sentence_more_than_twice_as_written(name):
    routine = load_routine(find_routine(name))
    assert repeated(compile_routine(routine, SPEECH, Cues())) == {}


def test_no_title_right_after_its_own_next(twenty):
    assert title_echoes(twenty) == []
    # ...and every step is still named once: by "Next:" or at its start.
    words = lambda text: set(re.findall(r"[a-z-]+", text.lower()))  # noqa: E731
    for step in twenty.steps:
        said = [e for e in twenty.speech() if e.role in ("title", "next")]
        named = [e for e in said if words(step.title) <= words(e.text)]
        assert len(named) == 1, step.title


def test_the_coach_own_lines_keep_two_seconds_clear_of_other_speech(twenty, sixty):
    assert crowded(twenty) == [] and crowded(sixty) == []


def test_little_talk_while_the_hands_work(twenty):
    assert median_working_speech_share(twenty) <= 0.35


def test_no_pressure_label_and_tempo_once_per_technique(twenty):
    said = twenty.speech()
    assert not [e for e in said if e.text.startswith("Pressure:")]
    tempos = {}
    for step in twenty.steps:
        if any(e.role == "tempo" and e.step == step.index for e in said):
            tempos.setdefault(step.technique, []).append(step.start)
    for technique, times in tempos.items():
        # Again only after a long absence (8 minutes).
        assert all(b - a >= 8 * 60 * S for a, b in itertools.pairwise(times)), technique


def test_the_parts_of_a_step_opening_are_one_to_three_seconds_apart(twenty):
    for step in twenty.steps:
        opening = []
        for e in twenty.speech():
            if e.step == step.index and e.role not in ("reminder", "next", "check-in", "posture"):
                if opening and e.start - opening[-1].end > 3 * S:
                    break
                opening.append(e)
        for a, b in itertools.pairwise(opening):
            gap = b.start - a.end
            if a.role == b.role == "caution":  # one caution's sentences, or two cautions
                assert gap <= 3 * S
            elif a.role in (b.role, "title") or (a.role, b.role) == ("pressure", "tempo"):
                # sentences of one part, what follows a title, the tempo folded on the figure
                assert S <= gap < 2 * S
            else:
                assert 2 * S <= gap <= 3 * S, (a.text, b.text)


def test_a_long_session_has_no_long_silence_and_varied_check_ins(sixty):
    assert longest_silence(sixty) <= 150 * S
    check_ins = {e.text for e in sixty.speech() if e.role == "check-in"}
    posture = {e.text for e in sixty.speech() if e.role == "posture"}
    assert len(check_ins) >= 6 and len(posture) >= 6
    assert len(CHECK_INS) >= 6 and len(POSTURE) >= 6


def test_the_first_check_in_comes_within_five_minutes(twenty, sixty):
    for t in (twenty, sixty):
        first = min(e.start for e in t.speech() if e.role == "check-in")
        assert first <= 5 * 60 * S


def test_the_closing_words_and_gong_end_the_session(twenty):
    end = [e for e in twenty.events if e.role == "end"]
    assert [e.kind for e in end] == ["speech", "cue"] and end[-1].end == twenty.duration
