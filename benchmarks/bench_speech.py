"""Speech synthesis: phrases a second cold (serial and parallel), a warm lookup in a fresh
process (what `coach preview` pays), peak level, and how close the --estimate comes."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import save

from coach.sound import espeak as sp
from coach.sound.espeak import Speech
from coach.sound.speech import Estimate

VERBS = ["Glide", "Press", "Knead", "Slide", "Circle", "Sweep", "Rest", "Lean", "Hold", "Shift"]
HANDS = ["your palms", "both thumbs", "the heel of your hand", "your fingertips", "your forearm"]
WHERE = ["up beside the spine", "over the shoulder blades", "toward the neck, slowly",
         "on the out-breath", "along the ribs; gently", "across the upper back"]  # fmt: skip
PHRASES = [f"{v} {h} {w}." for v, h, w in itertools.product(VERBS, HANDS, WHERE)]

WARM = """
import sys, time
t = time.perf_counter()
from coach.sound.espeak import Speech
s = Speech(cache_dir=sys.argv[1])
n = len(s.lengths(sys.argv[2:]))
assert s.synthesized == 0 and "numpy" not in sys.modules
print(time.perf_counter() - t)
"""


def cold(n: int, parallel: bool) -> float:
    with tempfile.TemporaryDirectory() as d:
        Speech(cache_dir=Path(d))  # engine info (version, voices) is cached once per machine
        s = Speech(cache_dir=Path(d))
        old = sp.PARALLEL_FROM
        sp.PARALLEL_FROM = 4 if parallel else n + 1
        try:
            t = time.perf_counter()
            s.lengths(PHRASES[:n])
            return time.perf_counter() - t
        finally:
            sp.PARALLEL_FROM = old


def main() -> None:
    rows = [["measure", "value"]]
    for parallel in (False, True):
        secs = cold(len(PHRASES), parallel)
        how = "parallel (all cores)" if parallel else "one at a time"
        rows.append(
            [f"cold, {len(PHRASES)} phrases, {how}", f"{len(PHRASES) / secs:.0f} phrases/s"]
        )

    with tempfile.TemporaryDirectory() as d:
        s = Speech(cache_dir=Path(d))
        real = s.lengths(PHRASES[:100])
        start = time.perf_counter()
        wall = subprocess.run(
            [sys.executable, "-c", WARM, d, *PHRASES[:100]],
            capture_output=True,
            text=True,
            check=True,
        )
        total = time.perf_counter() - start
        inside = float(wall.stdout)
        rows.append(["warm, 100 phrases, fresh process (import + lengths)", f"{inside:.3f} s"])
        rows.append(["warm, same, whole process incl. interpreter start", f"{total:.3f} s"])

        peak = max(int(np.abs(s.clip(t).astype(np.int32)).max()) for t in PHRASES[:100])
        rows.append(
            [f"peak over 100 clips at -a {sp.AMPLITUDE}", f"{20 * np.log10(peak / 32768):.1f} dBFS"]
        )

        guess = Estimate().lengths(PHRASES[:100])
        ratios = np.array([guess[t] / real[t] for t in PHRASES[:100]])
        rows.append(
            [
                "--estimate / real length (100 phrases)",
                f"mean {ratios.mean():.2f}, range {ratios.min():.2f}-{ratios.max():.2f}",
            ]
        )
    save("speech", "Speech synthesis (espeak-ng, en-us, 120 wpm)", rows)


if __name__ == "__main__":
    main()
