"""`coach play` for real: the player runs as a subprocess on a private PulseAudio null sink,
keys go in through a pseudo-terminal, and what reached the sink is recorded in real time.

Positions are compared in captured samples, relative to the first onset: the null sink consumes
audio at the real-time rate, so a captured sample index is the audio clock itself.
"""

from __future__ import annotations

import fcntl
import os
import pty
import shlex
import signal
import subprocess
import sys
import termios
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from pulse import RATE, PulseServer
from routines import routine_toml, step_table
from tones import CUE_HZ, INSTRUCTION, PART_GAP, step_hz, tone, tone_clip, tone_timeline

from coach.errors import CoachError
from coach.live.keys import keys_help, parse_keymap, split_keys
from coach.live.playback import VOLUME_RANGE_DB, Playback
from coach.session import SessionSpec, build
from coach.sound.render import CEILING_DBTP, Sounds, render

TONES = str(Path(__file__).with_name("tones.py"))
MS = RATE // 1000
STEP_SECONDS = 1.5
STEP = round(STEP_SECONDS * RATE)


@pytest.fixture(scope="session")
def pulse():
    server = PulseServer().start()
    yield server
    server.stop()


class Player:
    """The player as a person runs it: its terminal is a pty we type into and read."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen(
            [sys.executable, TONES, *args],
            stdin=slave,
            stdout=slave,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            # The pty becomes the controlling terminal, so Ctrl-C typed there is a real SIGINT.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
        os.close(slave)
        self.output = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def press(self, key: str) -> float:
        os.write(self.master, key.encode())
        return time.monotonic()

    def wait(self, timeout: float = 20) -> tuple[int, str, str]:
        code = self.proc.wait(timeout)
        stderr = self.proc.stderr.read().decode()
        self._reader.join(2)
        os.close(self.master)
        return code, self.output.decode(errors="replace"), stderr


def run_tones(pulse, args, actions=()):
    """Play the tone session; `actions` are (seconds after first sound, key) pairs.

    Returns the exit code, the terminal text, stderr, the capture and the key press times.
    """
    recorder = pulse.record()
    player = Player(args, pulse.env)
    pressed = []
    try:
        if actions:
            t0 = first_sound(recorder)
            for at, key in actions:
                time.sleep(max(0.0, t0 + at - time.monotonic()))
                pressed.append(player.press(key))
        code, out, err = player.wait()
    finally:
        if player.proc.poll() is None:
            player.proc.kill()
        time.sleep(0.1)
        capture = recorder.stop()
    return code, out, err, capture, pressed


def first_sound(recorder, timeout: float = 5.0) -> float:
    """When the first sound reached the sink (watching the capture as it grows)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = 0
        for stamp, data in list(recorder.chunks):
            samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
            loud = np.flatnonzero(np.abs(samples) > 600)
            if len(loud):
                return stamp - (len(samples) - 1 - loud[0]) / RATE
            seen += len(samples)
        time.sleep(0.005)
    raise AssertionError("no sound within 5 s of starting")


def pitch(capture, at: int, length: int = 100 * MS) -> float:
    """The dominant frequency of the captured sound starting at sample `at`."""
    chunk = capture.samples[at : at + length]
    spectrum = np.abs(np.fft.rfft(chunk * np.hanning(len(chunk))))
    return float(np.fft.rfftfreq(len(chunk), 1 / RATE)[np.argmax(spectrum)])


def instruction_steps(capture) -> list[tuple[int, int]]:
    """(onset, step) for every step instruction heard, identified by its pitch."""
    found = []
    for onset in capture.onsets():
        hz = pitch(capture, onset)
        if abs(hz - CUE_HZ) > 50:
            found.append((onset, round((hz - 300.0) / 200.0)))
    return found


@pytest.mark.realtime
def test_onsets_land_where_the_timeline_puts_them(pulse):
    code, out, err, capture, _ = run_tones(pulse, ["--no-keys", "--step-seconds", "1"])
    assert code == 0, err
    expected = np.array([e.start for e in tone_timeline(4, 1.0).events])
    heard = np.array(capture.onsets())
    assert len(heard) == len(expected)
    error_ms = ((heard - heard[0]) - (expected - expected[0])) / MS
    assert np.abs(error_ms).max() <= 10, error_ms
    assert "Session complete." in out
    assert "Traceback" not in err


@pytest.mark.realtime
def test_plain_lines_when_output_is_not_a_terminal(pulse):
    proc = subprocess.run(
        [sys.executable, TONES, "--steps", "2", "--step-seconds", "0.6"],
        env=pulse.env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Step 1 of 2: Tone 1")
    assert lines[1].startswith("Step 2 of 2: Tone 2")
    assert lines[-1] == "Session complete."
    assert "\x1b" not in proc.stdout


@pytest.mark.realtime
def test_pause_holds_the_clock(pulse):
    # Pause 0.3 s into step 1 for about 1 s: the rest of the session shifts by the pause.
    code, _, err, capture, (paused, resumed) = run_tones(
        pulse, ["--steps", "2"], actions=[(0.3, " "), (1.3, " ")]
    )
    assert code == 0, err
    heard = capture.onsets()
    expected = [e.start for e in tone_timeline(2, STEP_SECONDS).events]
    assert len(heard) == len(expected)
    gap = capture.index_at(resumed) - capture.index_at(paused)
    # Nothing plays while paused (allowing the 50 ms device buffer at each edge).
    lo, hi = capture.index_at(paused) + 100 * MS, capture.index_at(resumed)
    assert not capture.loud_between(lo, hi)
    shifts = [(h - heard[0]) - (e - expected[0]) for h, e in zip(heard, expected, strict=True)]
    assert abs(shifts[0]) <= 10 * MS  # before the pause: on time
    after = shifts[1:]
    # Every later onset moved by one and the same amount: the pause, to within 10 ms ...
    assert max(after) - min(after) <= 10 * MS, after
    # ... and that amount is the time between the two key presses (pty and device latency).
    assert abs(after[0] - gap) <= 60 * MS, (after[0], gap)


@pytest.mark.realtime
def test_next_back_and_repeat(pulse):
    # 0.5 s into step 1: next -> step 2 at once; 0.5 s later: back (within 2 s) -> step 1;
    # 1.0 s later (1 s into step 1 again): repeat -> step 1's instruction once more; quit.
    code, _, err, capture, (nxt, back, rep, _) = run_tones(
        pulse, ["--steps", "3"], actions=[(0.5, "n"), (1.0, "\x1b[D"), (2.0, "r"), (2.4, "q")]
    )
    assert code == 0, err
    heard = instruction_steps(capture)
    steps = [s for _, s in heard]
    assert steps == [1, 2, 1, 1], heard
    for (onset, _), key in zip(heard[1:4], (nxt, back, rep), strict=True):
        delay = capture.time_of(onset) - key
        assert 0 <= delay <= 0.1, delay


@pytest.mark.realtime
def test_repeat_replays_every_sentence_of_the_instruction(pulse):
    # Step 1's instruction is two bursts (500 Hz, then 600 Hz 250 ms later); r at 1.0 s.
    code, _, err, capture, (rep, _) = run_tones(
        pulse,
        ["--steps", "2", "--step-seconds", "3", "--parts", "2"],
        actions=[(1.0, "r"), (1.8, "q")],
    )
    assert code == 0, err
    speech = [(o, pitch(capture, o)) for o in capture.onsets()]
    speech = [(o, hz) for o, hz in speech if abs(hz - CUE_HZ) > 50]
    # Both parts at the start, then both again after r.
    assert [round(hz, -2) for _, hz in speech] == [step_hz(1, 1), step_hz(1, 2)] * 2, speech
    (first, _), (second, _) = speech[2:]
    assert 0 <= capture.time_of(first) - rep <= 0.1
    # The parts keep their spacing on the timeline.
    assert abs(second - first - (INSTRUCTION + PART_GAP)) <= 5 * MS


@pytest.mark.realtime
def test_ctrl_c_stops_at_once_and_says_how_to_resume(pulse):
    code, out, err, capture, (interrupt,) = run_tones(
        pulse, ["--steps", "3", "--step-seconds", "3"], actions=[(3.1, "\x03")]
    )
    assert code == 130
    assert "coach play tones --from-step 2" in out
    assert "Traceback" not in err
    # 3.1 s in, the step 2 instruction (150 ms from 3.0 s) is sounding: it is cut off.
    silent_from = capture.index_at(interrupt) + 100 * MS
    assert not capture.loud_between(silent_from, len(capture.samples))


@pytest.mark.realtime
def test_sigterm_stops_at_once_like_q_and_exits_143(pulse):
    recorder = pulse.record()
    player = Player(["--steps", "3", "--step-seconds", "3"], pulse.env)
    try:
        time.sleep(max(0.0, first_sound(recorder) + 3.1 - time.monotonic()))
        player.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code, out, err = player.wait()
    finally:
        if player.proc.poll() is None:
            player.proc.kill()
        time.sleep(0.1)
        capture = recorder.stop()
    assert code == 143, err
    assert "Stopped. To resume: coach play tones --from-step 2" in out
    assert "Traceback" not in err
    assert not capture.loud_between(capture.index_at(sent) + 100 * MS, len(capture.samples))


@pytest.mark.realtime
def test_q_quits_with_0_and_the_terminal_is_restored(pulse):
    code, out, err, _, _ = run_tones(pulse, ["--steps", "3"], actions=[(0.2, "q")])
    assert code == 0, err
    assert "coach play tones --from-step 1" in out


@pytest.mark.realtime
def test_from_step_starts_there(pulse):
    code, _, err, capture, _ = run_tones(pulse, ["--no-keys", "--steps", "4", "--from-step", "3"])
    assert code == 0, err
    assert [s for _, s in instruction_steps(capture)] == [3, 4]


@pytest.mark.realtime
def test_pedal_keys_from_the_key_map(pulse):
    code, _, err, capture, _ = run_tones(
        pulse, ["--steps", "3", "--keys", "next=PAGEDOWN"], actions=[(0.3, "n"), (0.5, "\x1b[6~")]
    )
    assert code == 0, err
    assert [s for _, s in instruction_steps(capture)] == [1, 2, 3]  # n no longer skips


def test_no_audio_device_is_one_line_and_exit_2(tmp_path):
    routine = tmp_path / "short.toml"
    routine.write_text(ROUTINE)
    (tmp_path / "alsa").mkdir()
    # An ALSA default that points at a card that does not exist, and no PulseAudio.
    (tmp_path / "alsa" / "asoundrc").write_text("pcm.!default { type hw card 9 }\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE")}
    env.update(XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path), XDG_RUNTIME_DIR=str(tmp_path))
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"))
    # Run by the path `make play` installs it at: the hint names the command that works.
    coach = str(Path(sys.executable).with_name("coach"))
    proc = subprocess.run(
        [coach, "play", str(routine)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("coach: no audio output device"), lines[0]
    assert f"`{coach} export {routine} -o guide.mp3`" in lines[0]
    # Said before the speech is made (tens of seconds on a cold cache), not after.
    assert list((tmp_path / "cache").rglob("*.clip")) == []  # no phrase made


@pytest.mark.realtime
def test_device_vanishing_mid_session(tmp_path):
    routine = tmp_path / "short.toml"
    routine.write_text(ROUTINE)
    server = PulseServer().start()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "coach", "play", str(routine)],
            env=dict(server.env, XDG_CACHE_HOME=str(tmp_path / "cache")),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The first status line comes once the device plays; the sound server dies 1 s later.
        assert proc.stdout.readline().startswith("Before you start")
        time.sleep(1.0)
        server.proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.stop()
    assert proc.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("coach: the audio output device went away"), lines[0]
    # Stopped in the pre-roll: resuming starts the session over, as it was run (python -m coach).
    coach = shlex.join([sys.executable, "-m", "coach", "play", str(routine)])
    assert lines[0].endswith(f"To resume: {coach}")


def test_key_map_and_escape_sequences():
    keymap = parse_keymap("next=PAGEDOWN,next=n,pause=b")
    assert keymap["\x1b[6~"] == "next" and keymap["n"] == "next"
    assert keymap["b"] == "pause"
    assert "\x1b[C" not in keymap  # naming "next" replaced its default keys
    assert keymap["\x1b[D"] == "back"  # back keeps Left, loses b
    assert "PAGEDOWN/n next" in keys_help(keymap)  # the status line shows the keys in use
    assert split_keys("n\x1b[6~\x1bOC ") == ["n", "\x1b[6~", "\x1b[C", " "]


def test_back_goes_to_the_previous_step_only_early_in_a_step():
    timeline = tone_timeline(3, 4.0)
    second = timeline.steps[1].start
    playback = Playback(timeline, lambda e: np.zeros(e.length, np.float32), start=second + 3 * RATE)
    try:
        playback.back()
        assert playback.position == second  # 3 s into step 2: restart step 2
        playback.back()
        assert playback.position == 0  # at step 2's start: go to step 1
    finally:
        playback.close()


ROUTINE = routine_toml(
    step_table("effleurage", "upper back", 20, "Long slow strokes."),
    step_table("rest", "whole back", 20, "Rest your hands."),
    title="Two short steps",
)


@pytest.mark.realtime
def test_coach_play_speaks_a_routine_on_time(pulse, tmp_path, monkeypatch):
    routine = tmp_path / "short.toml"
    routine.write_text(ROUTINE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    env = dict(pulse.env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    coach = [sys.executable, "-m", "coach"]
    # The same timeline and clips as the player's; a clip's first loud sample is where the
    # capture shows it start (a soft consonant can open a phrase).
    # The voice the `coach` subprocess gets from $COACH_VOICE (the suite's: conftest.py).
    session = build(SessionSpec(str(routine)), preferred_voice=os.environ["COACH_VOICE"])
    sounds = Sounds(session.speech, session.cues)
    begin = session.timeline.massage_start  # --from-step 1: step 1, past the spoken pre-roll
    expected = [
        e.start + int(np.argmax(np.abs(sounds(e)) > 0.01))
        for e in session.timeline.events
        if begin <= e.start < begin + 7 * RATE  # the first 7 s of step 1, then Ctrl-C
    ]
    recorder = pulse.record()
    proc = subprocess.Popen(
        [*coach, "play", str(routine), "--from-step", "1", "--keys", "next=PAGEDOWN"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(first_sound(recorder) + 7.0 - time.monotonic())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    capture = recorder.stop()
    assert proc.returncode == 130, err
    assert out.decode().splitlines()[0].startswith("Step 1 of 2")
    # The hint brings back the pedal keys too.
    assert f"coach play {routine} --keys next=PAGEDOWN --from-step 1" in out.decode()
    heard = np.array(capture.onsets(threshold=0.01))
    # Pauses inside a phrase add onsets of their own: each timeline onset needs one heard
    # at its place.
    assert len(expected) >= 3
    for start in expected:
        offset = (heard - heard[0]) - (start - expected[0])
        assert np.abs(offset).min() <= 10 * MS, (start, offset)


@pytest.mark.realtime
def test_coach_play_from_step_out_of_range_is_one_line(pulse, tmp_path):
    routine = tmp_path / "short.toml"
    routine.write_text(ROUTINE)
    proc = subprocess.run(
        [sys.executable, "-m", "coach", "play", str(routine), "--from-step", "3"],
        env=dict(pulse.env, XDG_CACHE_HOME=str(tmp_path / "cache")),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "coach: --from-step 3 is out of range: this routine has steps 1 to 2"
    )


@pytest.mark.realtime
def test_what_plays_live_is_what_export_writes(pulse, tmp_path):
    """The first seconds heard from `coach play` equal the exported WAV, sample for sample."""
    routine = tmp_path / "short.toml"
    routine.write_text(ROUTINE)
    env = dict(pulse.env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    coach = [sys.executable, "-m", "coach"]
    wav = tmp_path / "guide.wav"
    subprocess.run([*coach, "export", str(routine), "-o", str(wav)], env=env, check=True)
    with wave.open(str(wav)) as f:
        exported = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    recorder = pulse.record()
    proc = subprocess.Popen([*coach, "play", str(routine)], env=env, stdout=subprocess.DEVNULL)
    time.sleep(first_sound(recorder) + 5.0 - time.monotonic())
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    heard = np.round(recorder.stop().samples * 32768).astype(np.int32)
    written = exported.astype(np.int32)
    # Each stretch of sound in the export's first 4 s must be heard sample for sample (within
    # float -> 16-bit rounding in the sound server), where the timeline puts it relative to the
    # first sound. Each stretch is located within 20 ms on its own, so a dropout of the sound
    # server between two of them (it happens on a loaded machine) is not mistaken for a
    # difference in what the coach played.
    first_heard = int(np.argmax(np.abs(heard) > 0))
    first_written = int(np.argmax(np.abs(written) > 0))
    loud = np.flatnonzero(written[: first_written + 4 * RATE])
    breaks = np.flatnonzero(np.diff(loud) > RATE // 20)
    stretches = list(zip(loud[np.r_[0, breaks + 1]], loud[np.r_[breaks, -1]] + 1, strict=True))
    assert len(stretches) >= 3
    for lo, hi in stretches:
        sound = written[lo:hi]
        at = first_heard + lo - first_written
        shifts = [d for d in range(-RATE // 50, RATE // 50 + 1)
                  if np.abs(heard[at + d : at + d + len(sound)] - sound).max() <= 2]  # fmt: skip
        assert shifts, f"the sound at {lo / RATE:.3f} s of the export is not heard as written"


def pull(playback: Playback, n: int) -> np.ndarray:
    """The next `n` timeline samples the device would get, as soon as the renderer has them."""
    got, total = [], 0
    deadline = time.monotonic() + 5
    while total < n and time.monotonic() < deadline:
        out = np.empty(min(512, n - total), np.float32)
        before = playback.position
        playback.fill(out)
        done = playback.position - before
        got.append(out[:done].copy())
        total += done
        if not done:
            time.sleep(0.002)
    assert total == n, "the renderer did not deliver in 5 s"
    return np.concatenate(got)


def test_a_render_error_survives_a_seek():
    timeline = tone_timeline(3)
    second = timeline.steps[1]

    def failing(event):
        if event.step == 2:
            raise CoachError("espeak-ng failed")
        return tone_clip(event)

    playback = Playback(timeline, failing, start=second.start)
    try:
        assert playback.finished.wait(5)
        playback.next_step()  # n pressed before the main loop noticed the error
        assert playback.finished.is_set()
        assert str(playback.error) == "espeak-ng failed"
    finally:
        playback.close()


def test_full_level_speech_is_not_clipped_at_maximum_volume():
    timeline = tone_timeline(1)
    peak = 10 ** (CEILING_DBTP / 20)  # speech clips peak at the true-peak ceiling
    playback = Playback(timeline, lambda e: tone(440.0, e.length) * (peak / 0.5))
    try:
        for _ in range(20):
            playback.louder()
        assert playback.volume_db == VOLUME_RANGE_DB[1]
        heard = pull(playback, INSTRUCTION)
    finally:
        playback.close()
    gain = 10 ** (playback.volume_db / 20)
    expected = tone(440.0, INSTRUCTION) * (peak / 0.5) * gain
    assert np.abs(heard - expected).max() < 1e-4  # the same wave, only louder: no flat tops


def test_a_seek_ends_a_repeat():
    timeline = tone_timeline(3)
    playback = Playback(timeline, tone_clip, start=RATE)  # 1 s into step 1
    try:
        playback.repeat()
        playback.next_step()  # n right after r: step 2 opens on its own
        heard = pull(playback, INSTRUCTION)
    finally:
        playback.close()
    second = timeline.steps[1].start
    expected = next(render(timeline, tone_clip, second, second + INSTRUCTION, INSTRUCTION))
    assert np.abs(heard - expected).max() < 1e-6


@pytest.mark.realtime
def test_play_runs_off_the_main_thread(pulse):
    """A front end may run the terminal player in a thread: only the main thread may set a
    signal handler, and play used to fail there with ValueError before a sound."""
    script = (
        "import sys, threading\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from tones import tone_clip, tone_session\n"
        "from coach.cli import run_live\n"
        "from coach.session import LiveSession\n"
        "done = []\n"
        "live = LiveSession(tone_session(2, 0.6), sounds=tone_clip)\n"
        "run = lambda: done.append(run_live(live, 'x'))\n"
        "thread = threading.Thread(target=run)\n"
        "thread.start()\n"
        "thread.join()\n"
        "print('exit code', done)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], env=pulse.env, capture_output=True, text=True, timeout=30
    )
    assert "exit code [0]" in proc.stdout, proc.stderr
    assert "Session complete." in proc.stdout
