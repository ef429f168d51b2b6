"""Safety as a massage therapist does it, checked on the timelines a user gets (preview, play
and export all use them): the pre-roll before the massage clock, the stop rule, the questions
with time to answer, cautions where they matter, aftercare at the end."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from coach.live.playback import Playback, resume_step, step_start
from coach.live.status import next_line, step_line
from coach.script.compiler import compile_routine
from coach.script.framing import LEAD_IN, frame
from coach.script.routine import find_routine, load_routine
from coach.script.safety import KIDNEYS, step_cautions
from coach.script.techniques import BALL_SPINE, LIBRARY
from coach.session import SessionSpec, build
from coach.sound.cues import Cues
from coach.sound.speech import Estimate
from coach.timeline import SAMPLE_RATE as S
from coach.timeline import clock

BUILTINS = ["classic-back", "quick-relief", "self-massage"]
PARTNER = ["classic-back", "quick-relief"]
# Screening a therapist never skips: each condition as the pre-roll names it.
CONDITIONS = [
    "injury", "broken bone", "osteoporosis", "fever", "blood clot", "bleeding disorder",
    "blood thinners", "burns", "wounds", "skin infection", "pregnan", "cancer", "pain",
    "surgery", "disc", "down a leg", "numb", "diabetes",
]  # fmt: skip


@pytest.fixture(scope="module")
def sessions():
    """The three built-ins as `coach preview --voice en-us` builds them (real espeak-ng)."""
    return {name: build(SessionSpec(name, voice="en-us")) for name in BUILTINS}


def routine(name):
    return load_routine(find_routine(name))


def words(events) -> str:
    return " ".join(e.text for e in events if e.kind == "speech").lower()


@pytest.mark.parametrize("name", BUILTINS)
def test_the_stop_rule_comes_before_the_first_150_s_of_the_massage(sessions, name):
    t = sessions[name].timeline
    (stop,) = [e for e in t.speech() if e.role == "stop"]
    assert stop.end <= t.massage_start + 150 * S
    for sign in ("sharp", "shooting", "burning", "numbness", "tingling", "dizziness"):
        assert sign in stop.text
    assert stop.text.startswith("Stop at once")


@pytest.mark.parametrize("name", BUILTINS)
def test_aftercare_is_said_in_the_last_150_s(sessions, name):
    t = sessions[name].timeline
    after = [e for e in t.speech() if e.start >= t.massage_end]
    assert after and after[0].start >= t.duration - 150 * S
    said = words(after)
    assert "slowly" in said and "water" in said and "soreness" in said and "a week" in said
    assert t.steps[-1].title == "Afterwards" and t.steps[-1].start == t.massage_end


@pytest.mark.parametrize("name", PARTNER)
def test_partners_are_asked_with_time_to_answer_before_the_massage(sessions, name):
    t = sessions[name].timeline
    questions = [e for e in t.speech() if e.role == "question"]
    assert len(questions) >= 4
    for question in questions:
        assert question.text.endswith("?") and question.end < t.massage_start
        following = min(e.start for e in t.events if e.start > question.start)
        assert following - question.end >= 6 * S  # room for an answer, not only a "no"
    before = words(e for e in t.events if e.end <= t.massage_start)
    for condition in [*CONDITIONS, "allergy", "nut oils"]:
        assert condition in before, condition
    assert "ask your partner" in before and "more, less, and stop" in before
    assert "don't do this face-down massage" in before and "no tapping" in before  # pregnancy
    assert "pause the guide" in before  # for an answer that takes longer


def test_self_massage_screens_yourself_and_offers_heat_or_cold(sessions):
    t = sessions["self-massage"].timeline
    before = words(e for e in t.events if e.end <= t.massage_start)
    for condition in CONDITIONS:
        assert condition in before, condition
    assert "tennis ball in a sock" in before and "cushion for your knees" in before
    (heat,) = [e for e in t.speech() if e.role == "heat-cold"]
    assert "warm towel" in heat.text and "ice pack" in heat.text
    assert heat.start >= t.massage_end


@pytest.mark.parametrize("name", BUILTINS)
def test_the_pre_roll_is_step_0_after_a_lead_in_and_the_massage_keeps_its_length(sessions, name):
    t = sessions[name].timeline
    assert min(e.start for e in t.events) == LEAD_IN == S // 2
    assert (t.steps[0].index, t.steps[0].title) == (0, "Before you start")
    assert t.steps[0].start == 0 and t.steps[1].start == t.massage_start
    assert [s.index for s in t.steps] == list(range(len(t.steps)))
    for a, b in itertools.pairwise(t.steps):
        assert a.end == b.start
    assert t.steps[-1].end == t.duration
    assert t.massage_end - t.massage_start == routine(name).duration
    # The massage's first sound is the routine's first chime, at its first sample.
    first = min((e for e in t.events if e.start >= t.massage_start), key=lambda e: e.start)
    assert (first.start, first.kind, first.step) == (t.massage_start, "cue", 1)


def test_framing_moves_the_compiled_massage_unchanged():
    r = routine("classic-back")
    massage = compile_routine(r, Estimate(), Cues())
    t = frame(massage, r, Estimate())
    moved = [e for e in t.events if t.massage_start <= e.start < t.massage_end]
    assert [(e.start - t.massage_start, e.end - t.massage_start, e.text) for e in moved] == [
        (e.start, e.end, e.text) for e in massage.events
    ]
    d = t.to_dict()
    assert d["massage_start_sample"] == t.massage_start
    assert d["massage_start"] == pytest.approx(t.massage_start / S, abs=1e-6)


def test_minutes_sets_the_massage_not_the_pre_roll():
    plain = build(SessionSpec("quick-relief"), estimate=True).timeline
    longer = build(SessionSpec("quick-relief", minutes=8), estimate=True).timeline
    assert longer.massage_end - longer.massage_start == 8 * 60 * S
    assert longer.massage_start == plain.massage_start


def test_no_safety_skips_the_questions_but_not_the_stop_rule():
    full = build(SessionSpec("classic-back"), estimate=True).timeline
    short = build(SessionSpec("classic-back", safety=False), estimate=True).timeline
    assert any(e.role == "question" for e in full.events)
    roles = {e.role for e in short.speech() if e.end <= short.massage_start}
    assert "question" not in roles and "screening" not in roles
    assert {"stop", "feedback"} <= roles
    assert short.massage_start < full.massage_start


def test_safety_notice_false_in_the_file_skips_the_screening(tmp_path):
    path = tmp_path / "own.toml"
    path.write_text(
        'title = "Own"\n[coaching]\nsafety_notice = false\n'
        '[[steps]]\ntechnique = "effleurage"\narea = "upper back"\nduration = "2m"\n'
    )
    t = build(SessionSpec(str(path)), estimate=True).timeline
    roles = {e.role for e in t.speech()}
    assert "question" not in roles and "stop" in roles


def test_a_routines_own_safety_phrases_replace_the_english():
    r = routine("quick-relief")
    # Routines give `phrases` from a [phrases] table; the pre-roll reads phrases["safety"].
    object.__setattr__(r, "phrases", {"safety": ("Hast du Schmerzen?", "Sag stopp.")})
    t = frame(compile_routine(r, Estimate(), Cues()), r, Estimate())
    before = [e for e in t.speech() if e.end <= t.massage_start]
    assert [e.text for e in before] == ["Hast du Schmerzen?", "Sag stopp."]
    assert before[1].start - before[0].end >= 3 * S  # a question still gets its answer time


def test_cautions_follow_the_place_not_only_the_first_use():
    self_massage = routine("self-massage")
    titles = [s.title for s in self_massage.steps]
    lower = titles.index("Ball beside the lower spine")
    assert BALL_SPINE in step_cautions(self_massage)[lower]
    classic = routine("classic-back")
    titles = [s.title for s in classic.steps]
    assert KIDNEYS in step_cautions(classic)[titles.index("Effleurage with oil")]  # firmer
    assert KIDNEYS not in step_cautions(classic)[titles.index("Warm-up strokes, no oil")]  # light
    assert KIDNEYS in step_cautions(classic)[titles.index("Friction circles")]  # beside the spine
    quick = routine("quick-relief")
    (thumbs,) = [i for i, s in enumerate(quick.steps) if s.technique == "thumb-press"]
    assert KIDNEYS in step_cautions(quick)[thumbs]  # thumb presses down the whole spine


def test_a_caution_comes_with_every_step_in_its_place_however_often_it_was_said():
    classic = routine("classic-back")
    firmer = next(s for s in classic.steps if s.title == "Effleurage with oil")
    again = replace(firmer, index=2, title="More of the same")
    same = replace(classic, steps=(firmer, again, replace(again, index=3)))
    assert all(KIDNEYS in step_cautions(same)[i] for i in range(3))
    upper = replace(again, area="upper back", say="Stroke lightly over the upper back.")
    assert KIDNEYS not in step_cautions(replace(classic, steps=(firmer, upper)))[1]


def test_the_caution_is_spoken_where_it_matters(sessions):
    t = sessions["classic-back"].timeline
    firmer = next(s for s in t.steps if s.title == "Effleurage with oil")
    said = [e.text for e in t.speech() if e.step == firmer.index and e.role == "caution"]
    assert KIDNEYS in said


def test_tapotement_speeds_up_but_stays_light_and_off_bone_and_neck():
    tapotement = LIBRARY["tapotement"]
    assert "build up" not in tapotement.tempo and "Speed up, stay light" in tapotement.tempo
    (caution,) = tapotement.cautions
    assert all(w in caution for w in ("spine", "kidneys", "bones", "neck"))


def test_content_fixes_in_the_builtins():
    petrissage = next(s for s in routine("classic-back").steps if s.technique == "petrissage")
    switch = next(r.say for r in petrissage.reminders if "Switch sides" in r.say)
    assert "one hand on the back" in switch
    assert "support" in LIBRARY["foam-roller"].say
    cat_cow = next(s for s in routine("self-massage").steps if s.technique == "cat-cow")
    assert "cushion under your knees" in cat_cow.say


def test_status_and_seeking_know_the_pre_roll_and_aftercare(sessions):
    t = sessions["classic-back"].timeline
    n = len(routine("classic-back").steps)
    assert step_line(t, 0) == "Before you start"
    assert next_line(t, 0) == "Next: Contact and breathing (whole back)"
    assert step_line(t, t.massage_start).startswith(f"Step 1 of {n}: Contact and breathing")
    assert next_line(t, t.massage_end - 1) == "Next: Afterwards"
    assert step_line(t, t.massage_end) == "Afterwards"
    assert next_line(t, t.massage_end) == "Next: the end"
    # --from-step K names the routine's step K; plain play starts with the pre-roll.
    assert step_start(t, None) == 0 and step_start(t, 1) == t.massage_start
    assert step_start(t, n) == t.steps[n].start
    assert resume_step(t, S) is None and resume_step(t, t.massage_start) == 1
    assert resume_step(t, t.duration - 1) == n


def test_back_from_the_first_step_returns_to_the_pre_roll(sessions):
    t = sessions["quick-relief"].timeline
    silent = lambda e: np.zeros(e.length, np.float32)  # noqa: E731
    playback = Playback(t, silent, start=t.massage_start + S)
    try:
        playback.back()  # 1 s into step 1: the pre-roll
        assert playback.position == 0
        playback.next_step()  # `n` skips the whole pre-roll
        assert playback.position == t.massage_start
    finally:
        playback.close()


def test_the_pre_roll_is_the_first_block_of_the_preview(sessions):
    from coach.files.preview import render_preview

    t = sessions["quick-relief"].timeline
    text = render_preview(t, "text")
    blocks = [b for b in text.split("\n\n") if not b.startswith("note:")]  # notes close it
    assert "(5:00 massage," in blocks[0]
    assert blocks[1].splitlines()[0].split() == [
        "Before",
        "you",
        "start",
        "0:00-" + clock(t.massage_start),
    ]
    assert blocks[2].lstrip().startswith("1. Contact")
    assert blocks[-1].lstrip().startswith("Afterwards")


@pytest.mark.parametrize("name", BUILTINS)
def test_the_guide_s_room_tapotement_hands_and_heat_for_soreness_are_said(name):
    t = build(SessionSpec(name), estimate=True).timeline
    before = words(e for e in t.speech() if e.end <= t.massage_start)
    assert "dim the lights" in before and "music" in before  # [guide:Preparation]
    after = words(e for e in t.speech() if e.start >= t.massage_end)
    assert "warm towel" in after  # heat for soreness, for a partner and for yourself
    tapping = {s.index for s in t.steps if s.technique == "tapotement"}
    said = words(e for e in t.speech() if e.step in tapping)
    for shape in ("edges of your hands", "fingertips"):
        assert not tapping or shape in said, shape
    assert "cupped hands" in LIBRARY["tapotement"].say and "fingertips" in LIBRARY["tapotement"].say
