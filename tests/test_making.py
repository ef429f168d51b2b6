"""A session played while its phrases are made (coach.live.making): it ends on the very
timeline a warm build gives, never moves what was settled, and, when the synthesis falls
behind, holds in silence at a step boundary and then goes on, on schedule."""

from __future__ import annotations

import dataclasses
import os
import time

import pytest
from pulse import RATE
from routines import QUIET, routine_toml, step_table
from test_player import first_sound

from coach.live.making import Making, SettledMoved
from coach.script.arrival import compile_known, order
from coach.session import LiveSession, SessionSpec, build
from coach.sound import espeak
from coach.sound.cues import Cues
from coach.sound.speech import Estimate


def voice() -> str:
    return os.environ["COACH_VOICE"]


@pytest.mark.parametrize(("name", "minutes"), [("quick-relief", None), ("classic-back", 9)])
def test_built_ahead_a_session_ends_on_the_warm_timeline(cold, name, minutes):
    spec = SessionSpec(name, minutes=minutes)
    session = build(spec, preferred_voice=voice(), ahead=True)
    making = session.making
    assert making is not None and 0 < making.settled < session.timeline.duration
    seen = [(making.timeline, making.settled)]
    making.subscribe(lambda timeline, until: seen.append((timeline, until)))
    assert making.finished.wait(60) and making.error is None
    warm = build(spec, preferred_voice=voice())
    assert warm.making is None  # every phrase is made now: built as before
    assert making.timeline == warm.timeline
    assert making.settled == warm.timeline.duration
    settled = [until for _, until in seen]
    assert settled == sorted(settled)


def test_a_moved_settled_event_fails_the_session(cold):
    """The check is live: a compile that moves a settled event is caught, not played."""
    from coach.sound.voices import open_speech

    spec = SessionSpec("quick-relief")
    routine = build(spec, preferred_voice=voice(), estimate=True).routine
    speech, _ = open_speech(voice(), language=routine.language)
    compiles = []

    def moving(known):
        timeline, until = compile_known(routine, known, Estimate(), speech, Cues())
        compiles.append(until)
        if len(compiles) == 3:  # the welcome one sample late, once it is settled
            first = dataclasses.replace(timeline.events[0], start=timeline.events[0].start + 1)
            timeline = dataclasses.replace(timeline, events=(first, *timeline.events[1:]))
        return timeline, until

    making = Making(speech, order(routine), moving)
    making.start()
    assert making.finished.wait(30)
    assert isinstance(making.error, SettledMoved)
    assert len(compiles) == 3  # caught at the first compile after the welcome was settled


SLOW = "Now, third."  # step 3's title as said: the phrase the slowed engine is slow on
ROUTINE = routine_toml(
    step_table("effleurage", "upper back", 5, "Stroke up the back.", title="First"),
    step_table("petrissage", "shoulders", 5, "Knead the shoulders.", title="Second"),
    step_table("friction", "lower back", 5, "Small circles.", title="Third"),
    title="Three short steps",
    coaching=QUIET,
    phrases={"safety": ["Ready when you are."]},
)
SLEEP = 11.0  # step 2 starts about 9 s after launch: it must wait for step 3's title


@pytest.mark.realtime
def test_falling_behind_holds_at_a_step_boundary_then_goes_on_on_schedule(
    cold, pulse_here, monkeypatch
):
    """An engine slowed after the start (the real espeak-ng underneath, sleeping on step 3's
    title) leaves step 2 unsettled: the session holds in silence at step 2's start, says so,
    and then plays steps 2 and 3 exactly as the timeline says, shifted by the hold."""
    real = espeak.Speech._make_many

    def slowed(self, texts):
        for text, pcm in zip(texts, real(self, texts), strict=True):
            if text == SLOW:
                time.sleep(SLEEP)
            yield pcm

    monkeypatch.setattr(espeak.Speech, "_make_many", slowed)
    session = build(SessionSpec(ROUTINE), preferred_voice=voice(), ahead=True)
    making = session.making
    assert making is not None and session.speech.engine == "espeak-ng"
    assert SLOW in making.missing  # (the title as the coach says it: a test of this test)
    live = LiveSession(session)
    states = []
    live.subscribe(states.append)
    recorder = pulse_here.record()
    live.start()
    t0 = first_sound(recorder, timeout=10)
    assert making.finished.wait(30) and making.error is None
    timeline = making.timeline  # final now
    _, two, three = timeline.massage_steps()
    time.sleep((three.start - two.start) / RATE + 3.0)  # from the end of the hold on
    live.stop()
    assert live.wait(10) == "stopped"
    capture = recorder.stop()
    held = [s for s in states if s.held]
    assert held and {s.step for s in held} == {two.index}
    assert not states[-1].held

    heard = capture.onsets()
    origin = capture.index_at(t0) - timeline.events[0].start
    until = three.start + 2 * RATE
    shown = [e for e in timeline.events if e.start < until]
    assert len({e.text for e in shown if e.kind == "speech"}) == 4
    for e in shown:
        if e.start < two.start:
            assert min(abs(h - (origin + e.start)) for h in heard) <= RATE // 50, e
    # The hold: silence from step 2's start until its chime, then everything on schedule.
    late = [h - origin - two.start for h in heard if h >= origin + two.start - RATE // 50]
    shift = late[0]
    assert shift >= RATE, "no hold at step 2's start"
    assert not capture.loud_between(origin + two.start, origin + two.start + shift - RATE // 100)
    lags = [(s.sample, s.held, s.lag) for s in states]
    for e in shown:
        if e.start >= two.start:
            assert min(abs(h - (origin + e.start + shift)) for h in heard) <= RATE // 50, (e, lags)
    # Nothing overlaps and nothing is cut: each phrase sounds to its end, then a pause.
    for e in timeline.speech():
        if e.end < until:
            at = origin + e.start + (shift if e.start >= two.start else 0)
            assert capture.loud_between(at + e.length - RATE // 5, at + e.length), e
            assert not capture.loud_between(
                at + e.length + RATE // 20, at + e.length + RATE // 2
            ), (e, [(h - origin) / RATE for h in heard])
