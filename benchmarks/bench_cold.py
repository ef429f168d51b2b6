"""`coach play classic-back` with the neural voice from an empty cache: launch to first sound,
cold and warm, and the CPU the phrases made while it plays add in the first minute.

Runnable alone: `.venv/bin/python benchmarks/bench_cold.py`. Results: results/cold.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

here = Path(__file__).parent
sys.path[:0] = [str(here), str(here.parent / "tests")]

from bench_play import first_sound  # noqa: E402
from common import coach_command, save  # noqa: E402
from pulse import PulseServer  # noqa: E402

ROUTINE = "classic-back"
COLD_RUNS, WARM_RUNS = 3, 5
MINUTE = 60.0


def tree_cpu(pid: int) -> float:
    """CPU seconds of the process and all its descendants, those reaped so far and those still
    running (the neural voice's fork server and the worker processes it forks)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
    tree, grown = {pid}, True
    while grown:
        found = {p for p, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= found
        grown = bool(found)
    # utime, stime, and the reaped children's cutime and cstime (fields 14-17 of stat)
    return sum(sum(map(int, stats[p][11:15])) for p in tree if p in stats) / tick


def run(server: PulseServer, cache: str, minute: bool) -> tuple[float, float | None]:
    """Seconds from launch to first sound; with `minute`, the CPU seconds of the whole process
    tree over the first MINUTE of play as well."""
    env = {k: v for k, v in server.env.items() if k != "COACH_VOICE"}
    env["XDG_CACHE_HOME"] = cache
    recorder = server.record()
    started = time.monotonic()
    proc = subprocess.Popen(
        [*coach_command(), "play", ROUTINE, "--no-keys"], env=env, stdout=subprocess.DEVNULL
    )
    cpu = None
    try:
        to_sound = first_sound(recorder, started)
        if minute:
            used = 0.0
            while time.monotonic() < started + to_sound + MINUTE:
                used = max(used, tree_cpu(proc.pid))
                time.sleep(0.1)
            cpu = used
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
        recorder.stop()
    return to_sound, cpu


def main() -> None:
    load = os.getloadavg()[0]
    server = PulseServer().start()
    try:
        cold, cold_cpu = [], []
        for _ in range(COLD_RUNS):
            with tempfile.TemporaryDirectory() as cache:
                to_sound, cpu = run(server, cache, minute=True)
                cold.append(to_sound)
                cold_cpu.append(cpu)
        with tempfile.TemporaryDirectory() as cache:
            env = {k: v for k, v in os.environ.items() if k != "COACH_VOICE"}
            env["XDG_CACHE_HOME"] = cache
            warm_up = [*coach_command(), "export", ROUTINE, "-o", f"{cache}/guide.wav"]
            subprocess.run(warm_up, env=env, check=True, stdout=subprocess.DEVNULL)
            warm = [run(server, cache, minute=False)[0] for _ in range(WARM_RUNS)]
            warm_cpu = run(server, cache, minute=True)[1]
    finally:
        server.stop()
    load = max(load, os.getloadavg()[0])
    cold, warm = np.array(cold), np.array(warm)
    table = [
        ["measure", "result", "target"],
        [f"launch to first sound, `coach play {ROUTINE}`, neural voice, empty cache: median "
         f"(range) of {COLD_RUNS}", f"{np.median(cold):.2f} s ({cold.min():.2f}-{cold.max():.2f})",
         "3 s"],
        [f"the same, warm cache: median (range) of {WARM_RUNS}",
         f"{np.median(warm):.2f} s ({warm.min():.2f}-{warm.max():.2f})", "< 1 s"],
        [f"CPU in the first {MINUTE:.0f} s of play, the coach and its workers: cold (median) / "
         "warm", f"{np.median(cold_cpu):.1f} s / {warm_cpu:.1f} s", ""],
        ["added CPU in that minute, cold over warm, as a share of the 2 cores",
         f"{100 * (np.median(cold_cpu) - warm_cpu) / (MINUTE * os.cpu_count()):.0f} %", ""],
    ]  # fmt: skip
    notes = (
        "Played into a private PulseAudio null sink; launch to first sound is from starting "
        "the process to the first sound sample at the sink's monitor. Cold: XDG_CACHE_HOME "
        "empty, so the voice model is hashed and loaded and every phrase is made; the session "
        "starts once what it needs first is made and the measured synthesis speed says the "
        "rest will keep ahead (coach.live.making). Warm: the same cache after an export. CPU "
        "counts the coach's process and the worker processes that make the phrases. "
        f"The machine was shared with other work (load average up to {load:.1f} on "
        f"{os.cpu_count()} cores): under load the synthesis is slower, and the session waits "
        "longer before it starts."
    )
    save("cold", f"coach play {ROUTINE} from an empty cache (neural voice)", table, notes)


if __name__ == "__main__":
    main()
