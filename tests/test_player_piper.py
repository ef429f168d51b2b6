"""Live equals export with the neural voice: what `coach play` sends to a real (null) sound
server is what `coach export` writes, sample for sample, when Piper speaks."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
import wave

import numpy as np
import pytest
from pulse import RATE, PulseServer
from routines import QUIET, routine_toml, step_table
from test_player import first_sound

from coach.sound import piper

pytestmark = [
    pytest.mark.realtime,
    pytest.mark.skipif(shutil.which("pulseaudio") is None, reason="needs pulseaudio"),
    pytest.mark.skipif(bool(piper.available()), reason="needs piper-tts (make setup)"),
]

ROUTINE = routine_toml(
    step_table("effleurage", "upper back", 20, "Long, slow strokes. Breathe out."),
    step_table("rest", "whole back", 20, "Rest your hands."),
    title="Two short steps, neural voice",
    coaching=QUIET | {"partner": True},
)


@pytest.fixture(scope="module")
def pulse():
    server = PulseServer().start()
    yield server
    server.stop()


@pytest.mark.realtime
def test_what_plays_live_is_what_export_writes_with_piper(pulse, piper_env, tmp_path):
    routine = tmp_path / "short.toml"
    routine.write_text(ROUTINE)
    env = {k: v for k, v in pulse.env.items() if k != "COACH_VOICE"}  # the default voice
    env["XDG_CACHE_HOME"] = piper_env["XDG_CACHE_HOME"]
    coach = [sys.executable, "-m", "coach"]
    wav = tmp_path / "guide.wav"
    subprocess.run([*coach, "export", str(routine), "-o", str(wav)], env=env, check=True)
    shown = subprocess.run(
        [*coach, "preview", str(routine)], env=env, capture_output=True, text=True, check=True
    )
    assert "voice en_US-joe-medium" in shown.stdout
    with wave.open(str(wav)) as f:
        written = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int32)
    recorder = pulse.record()
    proc = subprocess.Popen([*coach, "play", str(routine)], env=env, stdout=subprocess.DEVNULL)
    time.sleep(first_sound(recorder, timeout=20) + 7.0 - time.monotonic())
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    heard = np.round(recorder.stop().samples * 32768).astype(np.int32)
    # Each stretch of sound in the export's first 6 s is heard as written (within float ->
    # 16-bit rounding), where the timeline puts it relative to the first sound; each is
    # located within 20 ms on its own, so a dropout of a loaded sound server between two
    # stretches is not taken for a difference in what the coach played.
    first_heard = int(np.argmax(np.abs(heard) > 0))
    first_written = int(np.argmax(np.abs(written) > 0))
    loud = np.flatnonzero(written[: first_written + 6 * RATE])
    breaks = np.flatnonzero(np.diff(loud) > RATE // 20)
    stretches = list(zip(loud[np.r_[0, breaks + 1]], loud[np.r_[breaks, -1]] + 1, strict=True))
    assert len(stretches) >= 2
    for lo, hi in stretches:
        sound = written[lo:hi]
        at = first_heard + lo - first_written
        shifts = [d for d in range(-RATE // 50, RATE // 50 + 1)
                  if np.abs(heard[at + d : at + d + len(sound)] - sound).max() <= 2]  # fmt: skip
        assert shifts, f"the sound at {lo / RATE:.3f} s of the export is not heard as written"
