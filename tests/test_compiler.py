"""The compiler's timing rules on hand-built routines, with real speech and the estimate."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach.errors import RoutineError
from coach.script.compiler import compile_routine, shortest_minutes
from coach.script.fitter import HEADS_UP_LEAD
from coach.script.layout import PAUSE
from coach.script.routine import Coaching, Reminder, Routine, Step
from coach.script.scaling import scale_steps
from coach.script.techniques import LIBRARY
from coach.sound.cues import Cues
from coach.sound.espeak import Speech
from coach.sound.speech import Estimate
from coach.timeline import SAMPLE_RATE as S
from coach.timeline import Timeline


def make_routine(durations, reminders=None, coaching=None, techniques=None) -> Routine:
    techniques = techniques or ["effleurage", "petrissage", "friction", "tapotement"]
    steps = []
    for i, seconds in enumerate(durations):
        name = techniques[i % len(techniques)]
        steps.append(
            Step(
                index=i + 1,
                technique=name,
                area="upper back",
                duration=round(seconds * S),
                title=f"Step {i + 1} {LIBRARY[name].label}",
                say=LIBRARY[name].say,
                cue="chime",
                reminders=tuple(
                    Reminder(round(at * S), text, line=100 + i)
                    for at, text in (reminders or {}).get(i, [])
                ),
                line=10 + i,
            )
        )
    return Routine(
        name="test",
        path="test.toml",
        title="Test routine",
        steps=tuple(steps),
        techniques=dict(LIBRARY),
        coaching=coaching or Coaching(check_in_first=4 * 60 * S, check_in_every=5 * 60 * S),
    )


def overlaps(a, b) -> bool:
    return a.start < b.end and b.start < a.end


def assert_valid(t: Timeline, total: int) -> None:
    """The rules every timeline obeys, whatever the routine."""
    assert t.duration == total
    assert t.steps[0].start == 0 and t.steps[-1].end == total
    for before, after in zip(t.steps, t.steps[1:], strict=False):
        assert before.end == after.start
    assert list(t.events) == sorted(t.events, key=lambda e: (e.start, e.end))
    sounds = [e for e in t.events if e.role != "tick"]
    for i, a in enumerate(sounds):
        assert 0 <= a.start < a.end <= total
        step = t.steps[a.step - 1]
        assert step.start <= a.start < step.end, f"{a} outside its step"
        for b in sounds[i + 1 :]:
            if b.start >= a.end + PAUSE:
                break
            if a.kind == "speech" or b.kind == "speech":
                assert not overlaps(a, b), f"{a} overlaps {b}"


@pytest.fixture(scope="module")
def speech():
    return Speech()


@pytest.fixture(scope="module", params=["espeak-ng", "estimate"])
def engine(request, speech):
    return speech if request.param == "espeak-ng" else Estimate()


def test_twenty_minutes_with_real_speech_and_estimate(engine):
    routine = make_routine([60, 90, 240, 240, 210, 180, 180])
    t = compile_routine(routine, engine, Cues())
    assert_valid(t, 20 * 60 * S)
    assert t.estimated == (engine.voice == "estimate")


def test_each_step_opens_with_its_cue_on_its_first_sample(engine):
    t = compile_routine(make_routine([60, 120, 120]), engine, Cues())
    for step in t.steps:
        first = min((e for e in t.events if e.step == step.index), key=lambda e: e.start)
        assert (first.start, first.kind, first.name) == (step.start, "cue", "chime")


def test_speech_lengths_are_the_real_clip_lengths(speech):
    t = compile_routine(make_routine([60, 120]), speech, Cues())
    for e in t.speech():
        assert e.length == len(speech.clip(e.text))
    for e in t.events:
        if e.kind == "cue":
            assert e.length == Cues().length(e.name)


def test_reminder_lands_on_its_time_when_free(engine):
    t = compile_routine(make_routine([120, 120], {1: [(60, "Switch sides now.")]}), engine, Cues())
    (r,) = [e for e in t.speech() if e.text == "Switch sides now."]
    assert r.start == t.steps[1].start + 60 * S and r.role == "reminder"
    assert not t.notes


def test_colliding_reminders_are_moved_never_dropped(engine):
    texts = ["Keep the hands soft.", "Breathe out as you press.", "Switch sides now."]
    routine = make_routine([150, 60], {0: [(2, texts[0]), (3, texts[1]), (4, texts[2])]})
    t = compile_routine(routine, engine, Cues())
    assert_valid(t, 210 * S)
    said = [e for e in t.speech() if e.role == "reminder"]
    assert [e.text for e in said] == texts
    assert len([n for n in t.notes if "moved" in n]) == 3


def test_reminder_that_cannot_fit_names_step_and_line(engine):
    routine = make_routine([60, 60], {0: [(50, "A long reminder " * 8)]})
    with pytest.raises(RoutineError) as err:
        compile_routine(routine, engine, Cues())
    assert str(err.value).startswith("test.toml:100: step 1 (Step 1 Effleurage): reminder at 0:50")


def test_a_step_too_short_for_its_words_is_an_error_naming_it(engine):
    with pytest.raises(RoutineError) as err:
        compile_routine(make_routine([60, 5, 60]), engine, Cues())
    (line,) = str(err.value).splitlines()
    assert line.startswith("test.toml:11: step 2 (Step 2 Petrissage): its own words need")
    assert line.endswith("the step lasts 0:05; lengthen it or shorten its words")


def test_heads_up_before_each_step_ends(engine):
    t = compile_routine(make_routine([60, 120, 90]), engine, Cues())
    for step, following in zip(t.steps, t.steps[1:], strict=False):
        (e,) = [e for e in t.speech() if e.role == "next" and e.step == step.index]
        assert e.text == f"Next: {following.title}."
        assert step.end - 10 * S < e.end <= step.end - HEADS_UP_LEAD
    assert not [e for e in t.speech() if e.role == "next" and e.step == t.steps[-1].index]


def test_end_gong_finishes_on_the_last_sample_and_halfway_is_near_the_middle(engine):
    t = compile_routine(make_routine([300, 300]), engine, Cues())
    gong = t.events[-1]
    assert (gong.name, gong.end) == ("gong", t.duration)
    (bell,) = [e for e in t.events if e.name == "bell"]
    assert abs(bell.start - t.duration // 2) < 30 * S


def test_partner_check_ins_first_within_five_minutes_then_regular(engine):
    t = compile_routine(make_routine([300, 300, 300, 300]), engine, Cues())
    checks = [e.start for e in t.speech() if e.role == "check-in"]
    assert checks and checks[0] <= 5 * 60 * S
    assert len(checks) == 3  # 4:00, 9:00, 14:00 (none in the last minute)


def test_self_massage_has_no_check_ins_or_posture(engine):
    t = compile_routine(make_routine([120, 120], coaching=Coaching(partner=False)), engine, Cues())
    roles = {e.role for e in t.events}
    assert not roles & {"check-in", "posture"}


def test_the_massage_itself_starts_with_the_first_step_not_a_safety_notice(engine):
    # The screening and the stop rule come before the massage clock (framing.py's pre-roll).
    t = compile_routine(make_routine([120, 120]), engine, Cues())
    first = next(e for e in t.speech() if e.step == 1)
    assert first.role == "title"


def test_pressure_comes_at_first_use_and_cautions_with_every_use(engine):
    routine = make_routine([120, 120, 120], techniques=["tapotement", "effleurage", "tapotement"])
    t = compile_routine(routine, engine, Cues())
    cautions = [e for e in t.speech() if e.role == "caution"]
    (tapping,) = LIBRARY["tapotement"].cautions  # where percussion must not go, every time
    assert {e.step for e in cautions if e.text == tapping} == {1, 3}
    pressure = [e for e in t.speech() if e.role == "pressure"]
    assert [e.step for e in pressure] == [1, 2]
    assert pressure[0].text == "Light, 2 to 3 out of 10."  # the figure, no "Pressure:" label
    quiet = replace(routine, coaching=replace(routine.coaching, cautions=False))
    t = compile_routine(quiet, engine, Cues())
    assert not [e for e in t.speech() if e.role in ("caution", "pressure")]


def test_rhythm_ticks_follow_the_technique_tempo(engine):
    routine = make_routine([120], techniques=["friction"])
    assert not any(e.role == "tick" for e in compile_routine(routine, engine, Cues()).events)
    t = compile_routine(routine, engine, Cues(), ticks=True)
    ticks = [e.start for e in t.events if e.role == "tick"]
    period = round(60 * S / LIBRARY["friction"].per_minute)
    assert len(ticks) > 10
    assert {b - a for a, b in itertools.pairwise(ticks)} == {period}


@pytest.mark.parametrize("minutes", [15, 27.5, 60])
def test_minutes_scales_exactly_and_keeps_every_instruction(engine, minutes):
    routine = make_routine([100, 90, 240, 240, 210, 180, 180], {2: [(120, "Switch sides now.")]})
    plain = compile_routine(routine, engine, Cues())
    t = compile_routine(routine, engine, Cues(), minutes=minutes)
    assert_valid(t, round(minutes * 60 * S))
    wanted = {e.text for e in plain.speech() if e.role in ("instruction", "reminder", "title")}
    assert wanted <= {e.text for e in t.speech()}


def test_minutes_too_short_names_what_each_step_needs(engine):
    routine = make_routine([60, 90, 240])
    with pytest.raises(RoutineError) as err:
        compile_routine(routine, engine, Cues(), minutes=0.2)
    lines = str(err.value).splitlines()
    assert lines and all(
        re.fullmatch(
            r"test.toml:1\d: step \d .*: its own words need 0:\d\d; in 0:12 it would get 0:0\d", x
        )
        for x in lines
    )
    shortest = shortest_minutes(routine, engine, Cues())
    compile_routine(routine, engine, Cues(), minutes=shortest)
    with pytest.raises(RoutineError):
        compile_routine(routine, engine, Cues(), minutes=shortest - 1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    durations=st.lists(st.integers(30, 400), min_size=1, max_size=8),
    minutes=st.one_of(st.none(), st.floats(2, 90)),
    ticks=st.booleans(),
)
def test_any_routine_obeys_the_rules_or_is_rejected(durations, minutes, ticks):
    routine = make_routine(durations)
    roomy = minutes is None and min(durations) >= 120  # enough for any step's words
    try:
        t = compile_routine(routine, Estimate(), Cues(), minutes=minutes, ticks=ticks)
    except RoutineError as err:
        assert not roomy, str(err)
        assert all(line.startswith("test.toml:") for line in str(err).splitlines())
        return
    total = round(minutes * 60 * S) if minutes else sum(round(d * S) for d in durations)
    assert_valid(t, total)


def test_scale_steps_sums_exactly():
    routine = make_routine([61, 67, 71, 73])
    for total in (S * 100 + 1, S * 3600 - 7, 12345679):
        assert sum(s.duration for s in scale_steps(routine.steps, total)) == total


@pytest.mark.parametrize(
    ("setting", "roles"),
    [
        ("heads_up", {"next"}),
        ("halfway", {"halfway"}),
        ("countdown", {"countdown"}),
        ("tempo", {"tempo"}),
    ],
)
def test_each_coaching_setting_turns_its_sounds_off(engine, setting, roles):
    routine = make_routine([300, 300])
    on = compile_routine(routine, engine, Cues())
    assert roles <= {e.role for e in on.events}
    off = replace(routine, coaching=replace(routine.coaching, **{setting: False}))
    assert not roles & {e.role for e in compile_routine(off, engine, Cues()).events}
