"""coach.session from code, as a front end uses it: no command line, no terminal.

The live test plays the tone session (tests/tones.py) through a LiveSession on a private
PulseAudio null sink and steers it with the session's own methods; the recording is the audio
clock (see test_player.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import wave

import numpy as np
import pytest
from pulse import RATE
from test_player import ROUTINE, first_sound
from tones import CUE, CUE_HZ, INSTRUCTION, PART_GAP, step_hz, tone_clip, tone_session

from coach.errors import RoutineError, StepOutOfRange, TooShort
from coach.script.routine import find_routine
from coach.session import PASTED, LiveSession, SessionSpec, State, build

MS = RATE // 1000
STEP_SECONDS = 1.5
STEP = round(STEP_SECONDS * RATE)


def test_importing_the_session_layer_loads_no_click():
    code = "import sys, coach.session; assert 'click' not in sys.modules, 'click loaded'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_importing_the_session_layer_loads_no_numpy():
    """A warm preview never needs numpy (55 ms to load): the session layer loads the audio
    side only where it is used."""
    code = "import sys, coach.session; print('numpy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr


def at(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


@pytest.mark.realtime
def test_a_live_session_driven_from_code(pulse_here):
    # Each step: a 150 ms tone, another 100 ms later (both at the step's own pitches), and a
    # cue tone in its middle. The pause comes inside step 1's second tone, so the recording
    # shows where the clock stopped and where it went on.
    live = LiveSession(tone_session(4, STEP_SECONDS, parts=2), sounds=tone_clip)
    told: list[tuple[float, State]] = []
    threads = set()

    def note(state: State) -> None:
        told.append((time.monotonic(), state))
        threads.add(threading.current_thread().name)

    live.subscribe(note)
    recorder = pulse_here.record()
    live.start()
    t0 = first_sound(recorder)
    at(t0 + 0.28)  # heard a device buffer later: inside the second tone (0.25-0.40 s)

    live.pause()
    at(t0 + 1.3)

    live.resume()
    at(t0 + 2.0)  # about 1.05 s into step 1, its cue heard
    skipped = time.monotonic()
    live.next()
    at(t0 + 4.0)  # 0.5 s into step 3
    live.stop()
    assert live.wait(5) == "stopped"
    time.sleep(0.1)
    capture = recorder.stop()

    statuses = [s.status for _, s in told]
    assert changes(statuses) == ["playing", "paused", "playing", "stopped"]
    assert changes([s.step for _, s in told]) == [1, 2, 3]
    assert live.state.status == "stopped" and live.state.step == 3
    assert threads == {"coach-dispatch"}  # never the audio callback, nor the caller's

    onsets = capture.onsets()
    heard = [tone_of(capture, o) for o in onsets]
    assert heard == [(1, 1), (1, 2), (1, 2), "cue", (2, 1), (2, 2), "cue", (3, 1), (3, 2)], heard
    first, second, again, cue1, step2, *rest = onsets
    # Where the second tone was cut off, and the pause as the audio clock saw it.
    loud = np.flatnonzero(np.abs(capture.samples[second:again]) > 0.02)
    cut = second + int(loud[-1]) + 1
    pause = again - cut
    assert 0.9 * RATE < pause < 1.1 * RATE
    assert not capture.loud_between(cut, again)  # silent while paused
    # Before the pause on time, after it shifted by the pause, each within 20 ms.
    assert abs(second - first - (INSTRUCTION + PART_GAP)) <= 20 * MS
    assert abs(cue1 - first - (STEP // 2 + pause)) <= 20 * MS, (cue1 - first, pause)
    # Next: step 2 at once (within the device's delay and block), and from there on time.
    assert 0 <= capture.time_of(step2) - skipped <= 0.1
    expected = [INSTRUCTION + PART_GAP, STEP // 2, STEP, STEP + INSTRUCTION + PART_GAP]
    error_ms = (np.array(rest) - step2 - np.array(expected)) / MS
    assert np.abs(error_ms).max() <= 20, error_ms
    # Each step change reached the subscriber within 50 ms of its first sound.
    for step, onset in ((2, step2), (3, rest[2])):
        when = next(t for t, s in told if s.step == step)
        assert abs(when - capture.time_of(onset)) <= 0.05, (step, when - capture.time_of(onset))


def changes(values: list) -> list:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def tone_of(capture, at: int) -> tuple[int, int] | str:
    """("cue", or the (step, part) whose tone starts at sample `at`, by its pitch."""
    chunk = capture.samples[at : at + CUE]
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk))))
    hz = float(np.fft.rfftfreq(len(chunk), 1 / RATE)[np.argmax(spectrum)])
    if abs(hz - CUE_HZ) < 50:
        return "cue"
    return next(
        (k, part) for k in range(1, 5) for part in (1, 2) if abs(hz - step_hz(k, part)) < 50
    )


def test_a_step_out_of_range_is_refused_before_playing():
    with pytest.raises(StepOutOfRange) as caught:
        LiveSession(tone_session(3, 1.0, from_step=4), sounds=tone_clip)
    assert (caught.value.step, caught.value.steps) == (4, 3)


BUILTINS = ["classic-back", "quick-relief", "self-massage"]


@pytest.mark.parametrize("name", BUILTINS)
def test_a_routine_given_as_text_builds_what_its_file_builds(name):
    text = find_routine(name).read_text(encoding="utf-8")
    pasted = build(SessionSpec(text, minutes=9), estimate=True)
    named = build(SessionSpec(name, minutes=9), estimate=True)
    assert pasted.timeline.to_dict() == named.timeline.to_dict()
    assert pasted.routine.path == PASTED


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("classic-back", 'technique = "petrissage"', 'technique = "petrisage"'),
        ("quick-relief", "duration = ", 'duration = "ten" #'),
        ("self-massage", "[[steps]]", "[[steps]]\nmystery = 1"),
    ],
)
def test_a_pasted_routine_s_problems_keep_their_lines(tmp_path, name, old, new):
    text = find_routine(name).read_text(encoding="utf-8").replace(old, new, 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RoutineError) as from_file:
        build(SessionSpec(str(path)), estimate=True)
    with pytest.raises(RoutineError) as from_text:
        build(SessionSpec(text), estimate=True)
    expected = [(PASTED, p.line, p.message) for p in from_file.value.problems]
    assert [(p.path, p.line, p.message) for p in from_text.value.problems] == expected
    assert from_file.value.problems[0].line == text[: text.index(new) + len(new)].count("\n") + 1


@pytest.mark.parametrize("name", BUILTINS)
def test_too_short_carries_the_shortest_length_that_fits(name):
    with pytest.raises(TooShort) as caught:
        build(SessionSpec(name, minutes=0.5), estimate=True)
    shortest = caught.value.shortest_minutes
    assert (caught.value.routine, caught.value.minutes) == (name, 0.5)
    assert caught.value.problems and "--" not in str(caught.value)  # data, no flags
    build(SessionSpec(name, minutes=shortest), estimate=True)
    with pytest.raises(TooShort):
        build(SessionSpec(name, minutes=shortest - 1), estimate=True)


def test_notes_and_warnings_come_back_as_data(capfd):
    text = ROUTINE.replace("partner = false", "partner = true")
    text = text.replace('title = "Two short steps"', 'title = "Zwei"\nlanguage = "de"')
    session = build(SessionSpec(text), estimate=True)
    assert capfd.readouterr() == ("", "")  # nothing printed
    (note,) = session.notes
    assert note.startswith(f'warning: {PASTED}: language "de"') and "phrases.safety" in note
    (warning,) = session.warnings
    line = text[: text.index("check_in_first")].count("\n") + 1
    assert str(warning).startswith(f"{PASTED}:{line}: warning: no pressure check-in")


@pytest.mark.realtime
def test_a_subscriber_that_fails_ends_the_session_as_failed(pulse_here):
    live = LiveSession(tone_session(3, 1.0), sounds=tone_clip)
    broken = ValueError("the page went away")

    def fail_at_step_2(state: State) -> None:
        if state.step == 2:
            raise broken

    live.subscribe(fail_at_step_2)
    assert live.state.status == "starting"
    recorder = pulse_here.record()
    live.start()
    assert live.wait(0.5) is None  # still playing: step 2 starts 1 s in
    assert live.wait(5) == "failed"
    time.sleep(0.3)
    capture = recorder.stop()
    assert live.state.error is broken and live.state.step == 2
    # It stopped as step 2 was heard: its tone cut short, nothing after it.
    first, cue, second = capture.onsets()
    assert [tone_of(capture, first), tone_of(capture, cue)] == [(1, 1), "cue"]
    assert abs(second - first - RATE) <= 20 * MS
    assert not capture.loud_between(second + INSTRUCTION, len(capture.samples))
    assert len(capture.samples) > second + INSTRUCTION + RATE // 10


@pytest.mark.realtime
def test_a_live_session_plays_its_music_bed(pulse_here, tmp_path):
    """The bed and the calibration come with the session, not the command line: a front end
    gets the very sound `coach play --music` makes."""
    music = tmp_path / "bed.wav"
    t = np.arange(5 * RATE) / RATE
    with wave.open(str(music), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(RATE)
        f.writeframes((0.3 * 32767 * np.sin(2 * np.pi * BED_HZ * t)).astype("<i2").tobytes())
    routine = ROUTINE.replace('title = "Two short steps"', 'title = "With music"')
    spec = SessionSpec(routine, music=str(music), from_step=1)
    live = LiveSession(build(spec, preferred_voice=os.environ["COACH_VOICE"]))
    recorder = pulse_here.record()
    live.start()
    t0 = first_sound(recorder, timeout=20)
    at(t0 + 3.0)
    live.stop()
    assert live.wait(5) == "stopped"
    capture = recorder.stop()
    heard = capture.samples[capture.index_at(t0) :][: 2 * RATE]
    spectrum = np.abs(np.fft.rfft(heard))  # 0.5 Hz bins
    bins = np.fft.rfftfreq(len(heard), 1 / RATE)
    peak = spectrum[np.abs(bins - BED_HZ) <= 1].max()
    around = np.median(spectrum[(np.abs(bins - BED_HZ) > 20) & (np.abs(bins - BED_HZ) < 200)])
    assert peak > 50 * around, (peak, around)  # a pure tone under the voice: the bed


BED_HZ = 3000.0
