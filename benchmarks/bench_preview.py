"""How long `coach preview` takes: classic-back cold (empty speech cache) and warm, and a
routine of 2000 steps warm; for the picture (svg, html) also how big it is.

Targets: classic-back under 0.3 s warm (issue 2); 2000 steps under 2 s (issue 14: the layout
searched its busy list linearly, about 120 s); the picture of 2000 steps under 5 s (issue 19).
Each run is a fresh process, as a user would start it.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import coach_command, save

RUNS = 15
HUGE_RUNS = 5
HUGE_STEPS = 2000


def huge_routine(folder: str) -> str:
    """A routine of HUGE_STEPS 40-second steps (22 hours: a routine may last 24), four
    techniques in turn, one reminder each."""
    techniques = ("effleurage", "petrissage", "friction", "thumb-press")
    lines = ['title = "Two thousand steps"']
    for i in range(HUGE_STEPS):
        lines += [
            "[[steps]]",
            f'technique = "{techniques[i % len(techniques)]}"',
            'area = "back"',
            'duration = "40s"',
            'reminders = [{ at = "25s", say = "Keep it slow." }]',
        ]
    path = os.path.join(folder, "huge.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def timed(args: list[str], env: dict) -> tuple[float, float]:
    """Wall time and CPU time (user + system, its worker processes included) of one run: on
    a shared machine the CPU time says more about the code."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(coach_command() + args, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime


def size(args: list[str], env: dict) -> str:
    """The output's size, for the picture formats (a file a browser must open)."""
    if "svg" not in args and "html" not in args:
        return ""
    out = subprocess.run(coach_command() + args, env=env, check=True, capture_output=True)
    return f"{len(out.stdout) / 1000:.0f} kB"


def row(name: str, cache: str, runs: list[tuple[float, float]], output: str) -> list[str]:
    walls = [wall for wall, _ in runs]
    cpu = statistics.median(c for _, c in runs)
    most = f"{max(walls):.3f} s" if len(runs) > 1 else ""
    median = f"{statistics.median(walls):.3f} s"
    return [name, cache, median, most, f"{cpu:.3f} s", str(len(runs)), output]


def main() -> None:
    rows = [["command", "cache", "median", "max", "CPU (median)", "runs", "output"]]
    for args in (
        ["preview", "classic-back"],
        ["preview", "classic-back", "--format", "json"],
        ["preview", "classic-back", "--format", "svg"],
    ):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, XDG_CACHE_HOME=cache)
            cold = [timed(args, env)]
            warm = [timed(args, env) for _ in range(RUNS)]
            output = size(args, env)
        rows.append(row(f"coach {' '.join(args)}", "cold", cold, output))
        rows.append(row(f"coach {' '.join(args)}", "warm", warm, output))
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        path = huge_routine(cache)
        for fmt in ("json", "text", "svg", "html"):
            args = ["preview", path, "--format", fmt]
            timed(args, env)  # synthesizes its few phrases once
            warm = [timed(args, env) for _ in range(HUGE_RUNS)]
            name = f"coach preview ({HUGE_STEPS} steps) --format {fmt}"
            rows.append(row(name, "warm", warm, size(args, env)))
    save(
        "preview",
        "Preview speed",
        rows,
        "Targets: warm preview of classic-back under 0.3 s; of 2000 steps under 2 s, its "
        "picture (svg, html) under 5 s. The 2000 steps last 40 s each (22 hours; before the "
        "24-hour limit they lasted a minute). "
        "The machine was shared with other work while this ran: compare ratios, and CPU times.",
    )


if __name__ == "__main__":
    main()
