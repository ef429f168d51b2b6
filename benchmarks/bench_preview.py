"""How long `coach preview classic-back` takes, cold (empty speech cache) and warm.

Target (issue 2): under 0.3 s warm. Each run is a fresh process, as a user would start it.
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
    save("preview", "Preview speed", rows, "Target: warm preview under 0.3 s.")


if __name__ == "__main__":
    main()
