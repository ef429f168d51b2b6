"""How long `coach preview` takes: classic-back cold (empty speech cache) and warm, and a
routine of 2000 steps warm.

Targets: classic-back under 0.3 s warm (issue 2); 2000 steps under 2 s (issue 14: the layout
searched its busy list linearly, about 120 s). Each run is a fresh process, as a user would
start it.
"""

from __future__ import annotations

import os
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
    """A routine of HUGE_STEPS one-minute steps, four techniques in turn, one reminder each."""
    techniques = ("effleurage", "petrissage", "friction", "thumb-press")
    lines = ['title = "Two thousand steps"']
    for i in range(HUGE_STEPS):
        lines += [
            "[[steps]]",
            f'technique = "{techniques[i % len(techniques)]}"',
            'area = "back"',
            'duration = "1m"',
            'reminders = [{ at = "30s", say = "Keep it slow." }]',
        ]
    path = os.path.join(folder, "huge.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def timed(args: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(coach_command() + args, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    rows = [["command", "cache", "median", "max", "runs"]]
    for args in (["preview", "classic-back"], ["preview", "classic-back", "--format", "json"]):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, XDG_CACHE_HOME=cache)
            cold = timed(args, env)
            warm = [timed(args, env) for _ in range(RUNS)]
        rows.append([f"coach {' '.join(args)}", "cold", f"{cold:.3f} s", "", "1"])
        rows.append(
            [
                f"coach {' '.join(args)}",
                "warm",
                f"{statistics.median(warm):.3f} s",
                f"{max(warm):.3f} s",
                str(RUNS),
            ]
        )
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        path = huge_routine(cache)
        for fmt in ("json", "text"):
            args = ["preview", path, "--format", fmt]
            timed(args, env)  # synthesizes its few phrases once
            warm = [timed(args, env) for _ in range(HUGE_RUNS)]
            rows.append(
                [
                    f"coach preview ({HUGE_STEPS} steps) --format {fmt}",
                    "warm",
                    f"{statistics.median(warm):.3f} s",
                    f"{max(warm):.3f} s",
                    str(HUGE_RUNS),
                ]
            )
    save(
        "preview",
        "Preview speed",
        rows,
        "Targets: warm preview of classic-back under 0.3 s; of 2000 steps under 2 s. "
        "The machine was shared with other work while this ran: compare ratios.",
    )


if __name__ == "__main__":
    main()
