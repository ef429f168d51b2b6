"""`coach play` on a real-time PulseAudio null sink: onset accuracy over a 60 s session, the
same with the player stopped (SIGSTOP) for 1 s, dropouts and catch-ups, time to first sound from
launch (warm and cold speech cache) and CPU use while playing.

Runnable alone: `.venv/bin/python benchmarks/bench_play.py`. Results: results/play.md.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import tempfile
import threading
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
STALL, STALL_AT = 1.0, 25.0  # SIGSTOP for 1 s, 25 s into the tone session
WARM_RUNS = 5


def launch(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, float]:
    started = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, started


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dropouts(out: str) -> tuple[int, float]:
    """(dropouts, seconds caught up) from the player's closing line."""
    found = re.search(r"\((\d+) dropouts?, ([\d.]+) s caught up\)", out)
    return (int(found[1]), float(found[2])) if found else (0, 0.0)


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


def accuracy(server: PulseServer, stall_at: float | None = None) -> dict:
    """A 60 s tone session on a terminal (a pty: keys read, status block redrawn), optionally
    stopped with SIGSTOP for STALL s at `stall_at` s after its first sound.

    Onset errors (ms) in captured samples and by the wall clock (for the stall: only onsets
    from 3 s after it); CPU share from 3 s after launch to the end (start-up left out);
    launch-to-sound time; dropouts and seconds caught up, as the player reported them.
    """
    recorder = server.record()
    master, slave = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(TONES), "--steps", str(STEPS), "--step-seconds", str(STEP_SECONDS)],
        env=server.env,
        stdin=slave,
        stdout=slave,
        stderr=subprocess.PIPE,
    )
    os.close(slave)
    out = []
    reader = threading.Thread(target=lambda: drain(master, out), daemon=True)
    reader.start()
    to_sound = first_sound(recorder, started)
    stalled = None
    if stall_at is not None:
        time.sleep(max(0.0, started + to_sound + stall_at - time.monotonic()))
        proc.send_signal(signal.SIGSTOP)
        time.sleep(STALL)
        proc.send_signal(signal.SIGCONT)
        stalled = time.monotonic()
    time.sleep(max(0.0, started + 3 - time.monotonic()))
    cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
    cpu1, wall1 = cpu0, wall0
    while proc.poll() is None:  # sampled until the end: /proc forgets a process that exits
        cpu1, wall1 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(0.2)
    reader.join(5)
    os.close(master)
    time.sleep(0.2)
    capture = recorder.stop()
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.read().decode())
    expected = np.array([e.start for e in tone_timeline(STEPS, STEP_SECONDS).events])
    heard = np.array(capture.onsets())
    # Each timeline onset against the nearest heard one (a dropout under load inserts
    # silence and shifts what follows until it is caught up: it shows here as error).
    offsets = (heard[None, :] - heard[0]) - (expected[:, None] - expected[0])
    match = np.abs(offsets).argmin(axis=1)
    errors = offsets[np.arange(len(expected)), match] / (RATE / 1000)
    # The same onsets by the wall clock: when each chunk of the capture arrived (parec at
    # 5 ms latency), so this includes the recorder's own jitter of a few ms.
    arrived = np.array([capture.time_of(int(i)) for i in heard[match]])
    wall_errors = ((arrived - arrived[0]) - (expected - expected[0]) / RATE) * 1000
    if stalled is not None:
        settled = arrived >= stalled + 3
        errors, wall_errors = errors[settled], wall_errors[settled]
    lost, caught = dropouts(b"".join(out).decode(errors="replace"))
    return dict(errors=errors, wall_errors=wall_errors, cpu=(cpu1 - cpu0) / (wall1 - wall0),
                to_sound=to_sound, onsets=len(errors), dropouts=lost, caught=caught)  # fmt: skip


def drain(fd: int, into: list[bytes]) -> None:
    """Read a pty until it closes (the player's terminal must not fill up)."""
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            return
        if not data:
            return
        into.append(data)


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
    the timeline puts it, relative to the first sound. Returns the errors and the CPU share
    from 3 s after launch (start-up left out).
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
    time.sleep(max(0.0, started + 3 - time.monotonic()))
    cpu0, wall0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(max(0.0, started + to_sound + ROUTINE_SECONDS + 1 - time.monotonic()))
    cpu = (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - wall0)
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
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
    return np.array(errors) / (RATE / 1000), cpu


def main() -> None:
    load = os.getloadavg()[0]
    server = PulseServer().start()
    try:
        calm = accuracy(server)
        stalled = accuracy(server, stall_at=STALL_AT)
        with tempfile.TemporaryDirectory() as cache:
            cold = routine_start(server, cache)
            warm = np.array([routine_start(server, cache) for _ in range(WARM_RUNS)])
            routine_errors, routine_cpu = routine_accuracy(server, cache)
    finally:
        server.stop()
    load = max(load, os.getloadavg()[0])
    errors = calm["errors"]
    table = [
        ["measure", "result", "target"],
        [f"onset error, {calm['onsets']} onsets over {STEPS * STEP_SECONDS:.0f} s (max abs)",
         f"{np.abs(errors).max():.2f} ms", "5 ms"],
        ["onset error, mean / std", f"{errors.mean():+.2f} / {errors.std():.2f} ms", ""],
        ["same onsets by the wall clock (capture chunk arrival times; max abs)",
         f"{np.abs(calm['wall_errors']).max():.2f} ms", "5 ms"],
        ["dropouts in that session (the machine stalled the sound) / seconds caught up",
         f"{calm['dropouts']} / {calm['caught']:.2f} s", ""],
        [f"the same session stopped (SIGSTOP) for {STALL:.0f} s at {STALL_AT:.0f} s: onset "
         f"error from 3 s after the stall, {stalled['onsets']} onsets (max abs)",
         f"{np.abs(stalled['errors']).max():.2f} ms", "20 ms"],
        ["... by the wall clock (max abs)", f"{np.abs(stalled['wall_errors']).max():.2f} ms",
         "20 ms"],
        ["... dropouts / seconds caught up", f"{stalled['dropouts']} / {stalled['caught']:.2f} s",
         ""],
        [f"onset error, `coach play {ROUTINE}`, {len(routine_errors)} events in its first "
         f"{ROUTINE_SECONDS} s (max abs)", f"{np.abs(routine_errors).max():.2f} ms", "5 ms"],
        ["launch to first sound, tone session (no synthesis)", f"{calm['to_sound']:.3f} s", ""],
        [f"launch to first sound, `coach play {ROUTINE}`, cold cache", f"{cold:.3f} s", ""],
        [f"launch to first sound, `coach play {ROUTINE}`, warm cache, median (range) of "
         f"{WARM_RUNS}", f"{np.median(warm):.2f} s ({warm.min():.2f}-{warm.max():.2f})",
         "< 1 s"],
        ["CPU while playing, tone session on a terminal (keys and status live)",
         f"{100 * calm['cpu']:.1f} %", "2 %"],
        [f"CPU while playing `coach play {ROUTINE}` (output not a terminal)",
         f"{100 * routine_cpu:.1f} %", "2 %"],
    ]  # fmt: skip
    notes = (
        "Played into a private PulseAudio null sink (22050 Hz mono, norewinds) and recorded "
        "with parec at 5 ms latency; onsets are compared with the timeline relative to the "
        "first one, so the constant output latency is left out. Onset errors are counted in "
        "captured samples (the sink plays in real time, so a sample index is the audio clock: "
        "this catches drift, dropouts and misplacement) and, for the tone session, also by the "
        "wall clock at which each capture chunk arrived (this adds the recorder's jitter). "
        "The onset and CPU figures come "
        "from a 60 s session of tone bursts (sharp onsets, no synthesis) run on a "
        "pseudo-terminal, and from the real "
        "routine, where each event is located in the capture by cross-correlating its sound "
        "from the export of the same routine. A dropout is the device (or the renderer) going "
        "without the sound it was owed because the process was not scheduled in time; the "
        "player skips that much silence in the next pauses (never inside a sound), and its "
        "closing line reports both. Without that catch-up a 1 s SIGSTOP made every later "
        "onset 946 ms late. CPU is the process's CPU time over wall time from 3 s after "
        "launch (start-up left out). Launch to first sound is from starting the process to "
        "the first sound sample arriving at the sink's monitor: Python start-up, imports, "
        "compiling the routine, opening the stream, the sound server's latency and parec's "
        "5 ms; for the real routine with XDG_CACHE_HOME empty (cold) or reused (warm). "
        f"The machine was loaded by other work (load average up to {load:.1f} on "
        f"{os.cpu_count()} cores): compare ratios, and expect dropouts."
    )
    save("play", "coach play: timing on the audio clock", table, notes)


if __name__ == "__main__":
    main()
