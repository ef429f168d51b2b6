"""`coach play` on a real-time PulseAudio null sink: onset accuracy over a 60 s session, time
to first sound from launch (warm and cold speech cache) and CPU use while playing.

Runnable alone: `.venv/bin/python benchmarks/bench_play.py`. Results: results/play.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

here = Path(__file__).parent
sys.path[:0] = [str(here), str(here.parent / "tests")]

from common import coach_command, save  # noqa: E402
from pulse import RATE, PulseServer  # noqa: E402
from tones import tone_timeline  # noqa: E402

TONES = here.parent / "tests" / "tones.py"
STEPS, STEP_SECONDS = 20, 3.0  # 60 s, 40 onsets
ROUTINE = "classic-back"  # the longest built-in: the most to compile before sound
ROUTINE_SECONDS = 70
SEARCH = RATE // 20  # look for each event within 50 ms of where the timeline puts it


def launch(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, started


def wait_cpu(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for the child; its exit code and the CPU seconds it used (user + system)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def first_sound(recorder, since: float, timeout: float = 60.0) -> float:
    """Seconds from `since` until the capture first holds sound."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stamp, data in list(recorder.chunks):
            samples = np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2")
            loud = np.flatnonzero(np.abs(samples) > 300)
            if len(loud) and stamp >= since:
                return stamp - (len(samples) - 1 - loud[0]) / RATE - since
        time.sleep(0.002)
    raise RuntimeError("no sound")


def accuracy(server: PulseServer) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """Onset errors (ms) of a 60 s tone session, in captured samples and by the wall clock;
    its CPU share; its launch-to-sound time."""
    recorder = server.record()
    proc, started = launch([sys.executable, str(TONES), "--no-keys", "--steps", str(STEPS),
                            "--step-seconds", str(STEP_SECONDS)], server.env)  # fmt: skip
    to_sound = first_sound(recorder, started)
    code, cpu = wait_cpu(proc)
    wall = time.monotonic() - started
    time.sleep(0.2)
    capture = recorder.stop()
    if code != 0:
        raise RuntimeError(proc.stderr.read().decode())
    expected = np.array([e.start for e in tone_timeline(STEPS, STEP_SECONDS).events])
    heard = np.array(capture.onsets())
    # Each timeline onset against the nearest heard one (a device underrun under heavy load
    # would insert silence and shift what follows: it shows here as error, not as a crash).
    offsets = (heard[None, :] - heard[0]) - (expected[:, None] - expected[0])
    match = np.abs(offsets).argmin(axis=1)
    errors = offsets[np.arange(len(expected)), match] / (RATE / 1000)
    # The same onsets by the wall clock: when each chunk of the capture arrived (parec at
    # 5 ms latency), so this includes the recorder's own jitter of a few ms.
    arrived = np.array([capture.time_of(int(i)) for i in heard[match]])
    wall_errors = ((arrived - arrived[0]) - (expected - expected[0]) / RATE) * 1000
    return errors, wall_errors, cpu / wall, to_sound, len(expected)


def routine_start(server: PulseServer, cache: str) -> float:
    """Launch `coach play ROUTINE` and stop it at its first sound; seconds to that sound."""
    env = dict(server.env, XDG_CACHE_HOME=cache)
    recorder = server.record()
    proc, started = launch([*coach_command(), "play", ROUTINE, "--no-keys"], env)
    try:
        return first_sound(recorder, started)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        recorder.stop()


def routine_accuracy(server: PulseServer, cache: str) -> tuple[np.ndarray, float]:
    """Onset errors (ms) of `coach play ROUTINE` over its first ROUTINE_SECONDS.

    Each timeline event is found in the capture by cross-correlating its sound, taken from the
    export of the same routine (the same samples the player renders), within +-SEARCH of where
    the timeline puts it, relative to the first sound. Returns the errors and CPU share.
    """
    env = dict(server.env, XDG_CACHE_HOME=cache)
    wav = Path(cache) / "reference.wav"
    export = [*coach_command(), "export", ROUTINE, "-o", str(wav), "--transcript", "none"]
    subprocess.run(export, env=env, check=True, stdout=subprocess.DEVNULL)
    with wave.open(str(wav)) as f:
        reference = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2") / 32768.0
    preview = [*coach_command(), "preview", ROUTINE, "--format", "json"]
    timeline = json.loads(subprocess.run(preview, env=env, capture_output=True).stdout)
    recorder = server.record()
    proc, started = launch([*coach_command(), "play", ROUTINE, "--no-keys"], env)
    to_sound = first_sound(recorder, started)
    time.sleep(max(0.0, started + to_sound + ROUTINE_SECONDS + 1 - time.monotonic()))
    proc.send_signal(signal.SIGINT)
    _, cpu = wait_cpu(proc)
    wall = time.monotonic() - started
    heard = recorder.stop().samples
    shift = int(np.argmax(np.abs(heard) > 0)) - int(np.argmax(np.abs(reference) > 0))
    errors = []
    for event in timeline["events"]:
        start = event["start_sample"]
        if start >= ROUTINE_SECONDS * RATE:
            break
        sound = reference[start : start + min(event["end_sample"] - start, RATE // 2)]
        window = heard[start + shift - SEARCH : start + shift + SEARCH + len(sound)]
        scores = np.correlate(window, sound, mode="valid")
        errors.append(int(np.argmax(scores)) - SEARCH)
    return np.array(errors) / (RATE / 1000), cpu / wall


def main() -> None:
    server = PulseServer().start()
    try:
        errors, wall_errors, cpu_share, tone_start, onsets = accuracy(server)
        with tempfile.TemporaryDirectory() as cache:
            cold = routine_start(server, cache)
            warm = min(routine_start(server, cache) for _ in range(3))
            routine_errors, routine_cpu = routine_accuracy(server, cache)
    finally:
        server.stop()
    table = [
        ["measure", "result", "target"],
        [f"onset error, {onsets} onsets over {STEPS * STEP_SECONDS:.0f} s (max abs)",
         f"{np.abs(errors).max():.2f} ms", "5 ms"],
        ["onset error, mean / std", f"{errors.mean():+.2f} / {errors.std():.2f} ms", ""],
        ["same onsets by the wall clock (capture chunk arrival times; max abs)",
         f"{np.abs(wall_errors).max():.2f} ms", "5 ms"],
        [f"onset error, `coach play {ROUTINE}`, {len(routine_errors)} events in its first "
         f"{ROUTINE_SECONDS} s (max abs)", f"{np.abs(routine_errors).max():.2f} ms", "5 ms"],
        ["launch to first sound, tone session (no synthesis)", f"{tone_start:.3f} s", ""],
        [f"launch to first sound, `coach play {ROUTINE}`, cold cache", f"{cold:.3f} s", ""],
        [f"launch to first sound, `coach play {ROUTINE}`, warm cache (best of 3)",
         f"{warm:.3f} s", "< 1 s"],
        ["CPU while playing (process CPU time / wall time)", f"{100 * cpu_share:.1f} %", ""],
        [f"CPU while playing `coach play {ROUTINE}` (incl. start-up)",
         f"{100 * routine_cpu:.1f} %", ""],
    ]  # fmt: skip
    notes = (
        "Played into a private PulseAudio null sink (22050 Hz mono, norewinds) and recorded "
        "with parec at 5 ms latency; onsets are compared with the timeline relative to the "
        "first one, so the constant output latency is left out. Onset errors are counted in "
        "captured samples (the sink plays in real time, so a sample index is the audio clock: "
        "this catches drift, dropouts and misplacement) and, for the tone session, also by the "
        "wall clock at which each capture chunk arrived (this adds the recorder's jitter). "
        "The onset and CPU figures come "
        "from a 60 s session of tone bursts (sharp onsets, no synthesis) and from the real "
        "routine, where each event is located in the capture by cross-correlating its sound "
        "from the export of the same routine; first-sound times from the real routine, with "
        "XDG_CACHE_HOME empty (cold) or reused (warm)."
    )
    save("play", "coach play: timing on the audio clock", table, notes)


if __name__ == "__main__":
    main()
