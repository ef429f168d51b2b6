"""`coach play ROUTINE --listen`, as users speak to it: the real command line with a user
routine and a built-in one, the coach's own output looped into the microphone (a private
PulseAudio "room", tests/pulse.py), and commands said the way people say them: Piper's voice
with its natural noise on, at several paces, pitches and levels of hiss (phrases.rendition:
each take made once and kept in the test cache).

What counts is what a user sees: the status line of each step (printed when its sound is
heard) and the line of each utterance heard ("heard: taken: next", ...).
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import threading
import time

import pytest
from phrases import rendition
from pulse import PulseRoom
from routines import routine_toml, step_table
from test_player import first_sound

from coach.session import SessionSpec, build
from coach.timeline import SAMPLE_RATE

COACH_PLAY = [sys.executable, "-m", "coach", "play"]
# Ten ways of saying "Coach, next.": (length scale, pitch shift in semitones, hiss dB below).
NEXTS = (
    (1.0, 0, 20), (0.85, 1, 25), (1.2, -1, 20), (0.95, 2, 20), (1.1, -2, 25),
    (0.8, 0, 18), (1.3, 1, 20), (1.05, -1, 30), (0.9, 0, 22), (1.15, 2, 22),
)  # fmt: skip
# Said around a massage, not to the coach (one holds a command word, one the wake word).
DISTRACTORS = ("Next time, a little lighter.", "Is the coach still talking?")
# From a command's end to the next step's first sound (the bound).
WITHIN = 2.0
# Each step of the user routine: the coach says "Slow strokes." as it begins (the first step
# also names itself), then 6 s of quiet to speak in.
STEP_SECONDS = 8
# Said this long after the coach's words end: the echo gate drops what begins within 0.5 s
# of the coach's sound, and the loopback into the microphone lagged that sound by up to 0.8 s
# here (a command said 1 s after the coach's words ran into their echo: one utterance with
# them, dropped by the gate).
AFTER_WORDS = 1.5


@pytest.fixture(scope="module")
def room():
    server = PulseRoom(loopback=True).start()
    yield server
    server.stop()


class Session:
    """`coach play ARGS` in the room; its stdout lines, each with when it came."""

    def __init__(self, room: PulseRoom, args: list[str]) -> None:
        self.room = room
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            [*COACH_PLAY, *args],
            env=room.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def step(self, k: int, timeout: float) -> float | None:
        """When the line of step `k` came (waiting up to `timeout` seconds), or None."""
        deadline = time.monotonic() + timeout
        while True:
            for at, line in list(self.lines):
                if line.startswith(f"Step {k} of "):
                    return at
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def say(self, audio, at: float) -> float:
        """Say `audio` into the room at monotonic time `at`; returns when its words ended."""
        time.sleep(max(0.0, at - time.monotonic()))
        _, done = self.room.speak(audio)
        return done - 0.3  # the hiss after the words (phrases.NOISE_PAD)

    def command(self, takes, word: str, at: float) -> float:
        """Say the first of `takes` at `at`, and the next one whenever the last was not taken
        (as a user does who sees "heard: not taken"); when the one taken ended."""
        for audio in takes:
            seen = len(self.lines)
            done = self.say(audio, at)
            time.sleep(max(0.0, done + 1.5 - time.monotonic()))
            if f"heard: taken: {word}" in [line for _, line in self.lines[seen:]]:
                return done
            at = time.monotonic()
        raise AssertionError(f'"coach, {word}" not taken in {len(takes)} tries: {self.text()}')

    def stop(self) -> str:
        """Ctrl-C, as a user stops it; its stderr."""
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        self._reader.join(5)
        return err

    def text(self) -> str:
        """Its output so far, each line with its second (for a failing test to show)."""
        start = self.lines[0][0] if self.lines else 0.0
        return "\n" + "\n".join(f"{at - start:7.2f}  {line}" for at, line in self.lines)

    def heard(self) -> list[str]:
        return [line for _, line in self.lines if line.startswith("heard: ")]


def words_end(timeline, k: int) -> float:
    """Seconds from step `k`'s start to the end of the coach's words in it."""
    step = timeline.steps[k]
    ends = [e.end for e in timeline.events if e.step == k and e.kind == "speech"]
    return (max(ends) - step.start) / SAMPLE_RATE


USER_ROUTINE = routine_toml(
    *[step_table("effleurage", "upper back", STEP_SECONDS, "Slow strokes.") for _ in range(14)],
    title="Voice",
    voice="en_US-joe-medium",  # the Piper voice, which the recognizer hears: the harder echo
)


@pytest.mark.realtime
def test_a_user_routine_steered_by_voice(room, tmp_path):
    # Step 2: two distractors, nothing happens; steps 3-12: a "coach, next" each, ten ways
    # (each command's step follows the last one's at once); step 13: "coach, pause", then
    # "coach, resume" (each said again if the line says it was not taken: measured live,
    # one take of "coach, resume" of two was heard as "coach is the").
    routine = tmp_path / "voice.toml"
    routine.write_text(USER_ROUTINE)
    timeline = build(SessionSpec(str(routine), safety=False, from_step=1)).timeline
    nexts = [rendition("Coach, next.", *how, take=k) for k, how in enumerate(NEXTS)]
    pauses = [rendition("Coach, pause.", *how, take=k) for k, how in enumerate(NEXTS[:2])]
    resumes = [rendition("Coach, resume.", *how, take=k) for k, how in enumerate(NEXTS[:2])]
    others = [rendition(t, 1.0, 0, 22, take=0) for t in DISTRACTORS]
    args = [str(routine), "--no-keys", "--no-safety", "--listen", "--from-step", "1"]
    session = Session(room, args)
    try:
        assert session.step(1, timeout=60) is not None, session.text()
        second = session.step(2, timeout=STEP_SECONDS + 2)
        done = session.say(others[0], second + words_end(timeline, 2) + AFTER_WORDS)
        session.say(others[1], done + 0.8)
        began = session.step(3, timeout=STEP_SECONDS + 2)
        assert began is not None and began - second > STEP_SECONDS - 0.5, session.text()
        late = []  # from each command's end to its step's line (None: not taken)
        for k, audio in enumerate(nexts, start=3):
            done = session.say(audio, began + words_end(timeline, k) + AFTER_WORDS)
            after = session.step(k + 1, timeout=began + STEP_SECONDS + 1.0 - time.monotonic())
            assert after is not None, session.text()
            late.append(after - done if after < began + STEP_SECONDS - 0.3 else None)
            began = after
        paused = session.command(pauses, "pause", began + words_end(timeline, 13) + AFTER_WORDS)
        resumed = session.command(resumes, "resume", time.monotonic() + 1.0)
        after = session.step(14, timeout=STEP_SECONDS + 6)
    finally:
        err = session.stop()
    assert "Traceback" not in err, err
    lines = session.text()
    taken = [x for x in late if x is not None and x < WITHIN]
    assert len(taken) >= 9, (late, lines)
    # Held from the end of "pause" to the end of "resume" (each taken within a second).
    assert after is not None, lines
    held = after - began - STEP_SECONDS
    assert abs(held - (resumed - paused)) < 1.0, (held, resumed - paused, lines)
    # Nothing but the commands was taken (step 2 ran its full length despite the distractors).
    commands = sum(x is not None for x in late) + 2
    assert sum(line.startswith("heard: taken: ") for line in session.heard()) == commands
    assert "heard: not taken: " in lines  # the coach's own words, the distractors


@pytest.mark.realtime
def test_coach_next_in_a_built_in_routine(room):
    # classic-back from its third step (the coach in espeak-ng, the suite's voice): "coach,
    # next" in the step's longest quiet stretch starts step 4 at once. Said again, another way,
    # when the line says it was not taken, as a user does who hears no acknowledgement: 1 or 2
    # commands in 45 are not taken (benchmarks/results/listen.md), and in CI this one once was
    # (the two passes heard "coach back" and "coach next"); the user routine's test bounds how
    # many.
    spec = SessionSpec("classic-back", safety=False, from_step=3)
    timeline = build(spec).timeline
    step = timeline.steps[3]
    sounds = sorted((e.start, e.end) for e in timeline.events if e.step == 3 and e.role != "tick")
    gaps = [(b[0] - a[1], a[1]) for a, b in itertools.pairwise(sounds)]
    length, quiet = max(gaps)
    assert length > 10 * SAMPLE_RATE  # room for two tries before the coach speaks again
    takes = [rendition("Coach, next.", *how, take=k) for k, how in enumerate(NEXTS[:2])]
    recorder = room.record()
    session = Session(room, ["classic-back", "--no-keys", "--no-safety", "--listen",
                             "--from-step", "3"])  # fmt: skip
    try:
        # The step's chime is the session's first sound (the first step's line is printed as
        # the session starts, before its sound).
        began = first_sound(recorder, timeout=60)
        at = began + (quiet - step.start) / SAMPLE_RATE + AFTER_WORDS
        done = session.command(takes, "next", at)
        after = session.step(4, timeout=WITHIN + 1.0)
    finally:
        session.stop()
        recorder.stop()
    assert after is not None and after - done < WITHIN, session.text()
