"""Pacing like a good guide, checked on the timelines a user gets for every built-in at half,
full and three times its length, with and without the health questions: a short opening, then
quiet hands; sentences a breath apart; no near-repeats in a step; titles said as a guide says
them; the last words near the end; the halfway line's true time; and the coach's lines about
moving, leaning and pressure only where they make sense."""

from __future__ import annotations

import itertools
import re

import pytest
from script_rules import BUILTINS, SEEDS, SHARES, massage_steps
from script_rules import built as timeline

from coach.script.pacing import near_duplicate
from coach.script.techniques import STILL
from coach.timeline import SAMPLE_RATE as S

# What a step must open with, however long: its title, where to work, its cautions, the
# author's words (and in a short last step, the closing words). Anything else waits for a
# quiet moment.
MUST = {"title", "caution", "place", "instruction", "reminder", "end"}
COACH = {"check-in", "posture", "progress", "pressure", "tempo", "caution", "place", "title"}


@pytest.fixture(scope="module", params=itertools.product(BUILTINS, SHARES, [True, False], SEEDS))
def built(request):
    return timeline(*request.param)


def step_speech(t, span):
    return sorted((e for e in t.speech() if e.step == span.index), key=lambda e: e.start)


def test_a_step_opens_with_at_most_12_s_of_speech_before_the_hands_get_quiet(built):
    _routine, t = built
    for span in massage_steps(t):
        said = step_speech(t, span)
        run = said[:1]
        for a, b in itertools.pairwise(said):
            if b.start - a.end >= 5 * S // 2:  # the parts of an opening are 1-2 s apart
                break
            run.append(b)
        talk = sum(e.length for e in run)
        assert talk <= 12 * S or {e.role for e in run} <= MUST, [e.text for e in run]


def test_sentences_are_at_least_a_second_apart(built):
    _routine, t = built
    said = sorted(t.speech(), key=lambda e: e.start)
    for a, b in itertools.pairwise(said):
        assert b.start - a.end >= S, (a.text, b.text)


def test_no_near_duplicate_pair_in_a_step(built):
    _routine, t = built
    for span in massage_steps(t):
        said = step_speech(t, span)
        for a, b in itertools.combinations(said, 2):
            if a.role in COACH or b.role in COACH:
                assert not near_duplicate(a.text, b.text), (a.text, b.text)


def test_near_duplicates_are_what_a_listener_hears_as_one():
    assert near_duplicate("Press as your partner breathes out.", "One press each out-breath.")
    assert near_duplicate(
        "Lean your body weight into the stroke. Don't push with your arms.",
        "Lean in with your body, not your arms.",
    )
    assert not near_duplicate("Ease off slowly.", "Ease off as they breathe in.")
    assert not near_duplicate("Work beside the spine, never on it.", "Knead the shoulders.")


def test_titles_are_said_as_a_guide_says_them(built):
    _routine, t = built
    for e in t.speech():
        if e.role == "title":
            assert e.text.startswith("Now, ") and e.text[5].islower(), e.text


def test_the_last_words_of_the_massage_come_within_30_s_of_its_end(built):
    _routine, t = built
    last = max((e for e in t.speech() if e.start < t.massage_end), key=lambda e: e.end)
    assert t.massage_end - last.end <= 30 * S, last.text


def test_the_halfway_line_says_the_time_truly_left(built):
    _routine, t = built
    for e in t.speech():
        if e.role == "halfway" and (m := re.search(r"(\d+) minutes to go", e.text)):
            left = t.massage_end - e.start
            assert abs(int(m.group(1)) * 60 * S - left) <= 30 * S, (e.text, left / S)


def test_moving_leaning_and_pressure_lines_only_where_they_make_sense(built):
    _routine, t = built
    for span in massage_steps(t):
        for e in step_speech(t, span):
            if e.role not in ("check-in", "posture", "progress"):
                continue
            text = e.text.lower()
            if re.search(r"new spot|move on", text):  # spot by spot, not whole-back strokes
                assert span.technique in {
                    "petrissage", "friction", "thumb-press", "vibration", "tennis-ball",
                }, (span.title, e.text)  # fmt: skip
            if re.search(r"\blean|weight", text):  # not on thumbs, fingertips or percussion
                assert span.technique in {
                    "effleurage",
                    "petrissage",
                    "tennis-ball",
                    "foam-roller",
                }, (
                    span.title,
                    e.text,
                )
            if e.role == "check-in":
                assert span.technique not in STILL, (span.title, e.text)
                asks = [x for x in step_speech(t, span) if x.role == "reminder" and "?" in x.text]
                near = [x for x in asks if "pressure" in x.text and abs(x.start - e.start) < 90 * S]
                assert not near, (span.title, e.text)  # the author asks already
            if e.role == "check-in" and "pressure" in text:  # felt pressure, not oil or tapping
                assert span.technique not in {"oil", "tapotement"}, (span.title, e.text)
