"""`coach play --minutes M` on an empty cache, where M fits the words-a-minute estimate but
not the real voice: the coach says the length that fits (the one line `coach export` gives)
before any sound. Where the real voice strays further from the estimate than the margin that
starts a session before its phrases are made allows, the session ends with that same line
(on the page: one line too), never a bare list of problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from command import coach
from routines import QUIET, routine_toml, step_table
from webserver import Server, wait_for

from coach.errors import TooShort
from coach.script.compiler import shortest_minutes
from coach.script.routine import find_routine, load_routine, load_routine_text
from coach.session import AHEAD_MARGIN, SessionSpec, build
from coach.sound.cues import Cues
from coach.sound.speech import DEFAULT_RATE, Estimate
from coach.sound.voices import open_speech

# Estimated as four words with two pauses, said by espeak-ng 2.7 times as long as that.
LONG = "Counterrevolutionaries, electroencephalographically, incomprehensibilities."
REMINDERS = [{"at": 20, "say": LONG}, {"at": 40, "say": LONG}]
LONG_WORDS = routine_toml(
    *[
        step_table("effleurage", "upper back", 60, LONG, title=f"Part {i}", reminders=REMINDERS)
        for i in range(1, 7)
    ],
    title="Long words",
    coaching=QUIET,
)


def shortests(routine, rate: int, cache) -> tuple[int, int]:
    """The shortest --minutes by the estimate and by the suite's real voice (made into a cache
    of the test's own, so the played session's stays empty)."""
    speech, _ = open_speech(os.environ["COACH_VOICE"], rate=rate, cache_dir=cache)
    return shortest_minutes(routine, Estimate(rate), Cues()), shortest_minutes(
        routine, speech, Cues()
    )


def silent(capture) -> bool:
    return not capture.loud_between(0, len(capture.samples))


@pytest.mark.realtime
def test_a_length_only_the_estimate_fits_is_refused_before_any_sound(cold, pulse_here, tmp_path):
    routine = load_routine(find_routine("quick-relief"))
    found = [
        (rate, guessed, real)
        for rate in range(100, 170, 10)
        for guessed, real in [shortests(routine, rate, tmp_path / "search")]
        if guessed < real
    ]
    assert found, "no rate at which the estimate fits a length the voice does not"
    rate, minutes, real = found[0]
    recorder = pulse_here.record()
    ran = coach("play", "quick-relief", "--rate", str(rate), "--minutes", str(minutes))
    capture = recorder.stop()
    assert ran.returncode == 2, ran
    assert "Traceback" not in ran.stderr
    assert ran.stderr.splitlines()[-1] == (
        f"coach: --minutes {minutes} is too short for quick-relief: try --minutes {real}"
    )
    assert silent(capture)


def far_longer(tmp_path) -> tuple[Path, int]:
    """The routine whose words the voice says far longer than the estimate guesses, as a
    file, and a --minutes that fits its estimate with the margin to spare but not the voice."""
    path = tmp_path / "long.toml"
    path.write_text(LONG_WORDS)
    routine = load_routine_text(LONG_WORDS, str(path))
    _, real = shortests(routine, DEFAULT_RATE, tmp_path / "search")
    spared = Estimate(int(DEFAULT_RATE / AHEAD_MARGIN))  # what starts a session ahead
    assert shortest_minutes(routine, spared, Cues()) < real, "not a test of the fallback"
    return path, real - 1


def test_beyond_the_margin_a_session_built_ahead_ends_with_the_length_that_fits(cold, tmp_path):
    path, minutes = far_longer(tmp_path)
    session = build(SessionSpec(str(path), minutes=minutes), ahead=True,
                    preferred_voice=os.environ["COACH_VOICE"])  # fmt: skip
    making = session.making
    assert making is not None, "started on the estimate"
    assert making.finished.wait(60)
    error = making.error
    assert isinstance(error, TooShort), error
    assert (error.routine, error.minutes, error.shortest_minutes) == ("long", minutes, minutes + 1)


@pytest.mark.realtime
def test_play_says_it_in_one_line(cold, pulse_here, tmp_path):
    path, minutes = far_longer(tmp_path)
    ran = coach("play", str(path), "--minutes", str(minutes))
    assert ran.returncode == 2, ran
    assert "Traceback" not in ran.stderr
    assert ran.stderr.splitlines()[-1] == (
        f"coach: --minutes {minutes} is too short for long: try --minutes {minutes + 1}"
    )


@pytest.mark.realtime
def test_serve_shows_it_in_one_line(tmp_path):
    from pulse import PulseServer

    _, minutes = far_longer(tmp_path)
    sound = PulseServer().start()
    server = Server(env=dict(sound.env, XDG_CACHE_HOME=str(tmp_path / "cache")))
    try:
        status, data = server.request("/api/play", {"text": LONG_WORDS, "minutes": minutes})
        assert status == 200, data
        state = wait_for(lambda: (s := server.json("/api/state"))["status"] == "failed" and s, 60)
        server.request("/api/control/stop", {})
    finally:
        server.stop()
        sound.stop()
    assert state["error"] == (
        f"{minutes} minutes is too short for this routine at this voice and rate: "
        f"try {minutes + 1} minutes"
    )
