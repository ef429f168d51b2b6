"""How long loudness work takes per clip: the renderer normalizes every clip once (cached).

Target: normalize() on a few seconds of speech in milliseconds, where ffmpeg's loudnorm over a
whole 60-minute guide takes ~50 s; importing the module well under the 1 s `coach play` has to
its first sound.
"""

from __future__ import annotations

import os
import subprocess
import sys
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import save

from coach.loudness import LoudnessMeter, integrated_loudness, normalize, true_peak_db
from coach.timeline import SAMPLE_RATE

TEXT = "Glide slowly up beside the spine, then let your hands come back down."


def speech() -> np.ndarray:
    out = subprocess.run(["espeak-ng", "--stdout", TEXT], capture_output=True, check=True).stdout
    data = out.find(b"data") + 8
    pcm = out[data : data + (len(out) - data) // 2 * 2]
    return np.frombuffer(pcm, "<i2").astype(np.float64) / 32768.0


def best_ms(call, number: int = 10) -> float:
    call()  # warm up
    return min(timeit.repeat(call, number=number, repeat=3)) / number * 1000


def meter_hour() -> None:
    block = np.random.default_rng(0).standard_normal(SAMPLE_RATE // 10).astype(np.float32) * 0.1
    meter = LoudnessMeter()
    for _ in range(36_000):  # 60 minutes in the renderer's 100 ms blocks
        meter.add(block)
    meter.integrated()


def import_ms() -> float:
    """Cumulative import time of coach.loudness in a fresh interpreter, as -X importtime says."""
    code = "import coach.loudness"
    runs = []
    for _ in range(3):
        log = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
        ).stderr
        line = next(row for row in log.splitlines() if row.endswith("| coach.loudness"))
        runs.append(int(line.split("|")[1]) / 1000)
    return min(runs)


def main() -> None:
    clip = speech()
    secs = f"{len(clip) / SAMPLE_RATE:.1f} s espeak speech"
    rows = [["operation", "input", "best of 3"]]
    for name, call in (
        ("integrated_loudness", lambda: integrated_loudness(clip)),
        ("true_peak_db", lambda: true_peak_db(clip)),
        ("normalize to -19 LUFS", lambda: normalize(clip, -19.0)),
    ):
        rows.append([name, secs, f"{best_ms(call):.1f} ms"])
    rows.append(["LoudnessMeter", "60 min in 100 ms blocks", f"{best_ms(meter_hour, 1):.0f} ms"])
    rows.append(["import coach.loudness", "fresh interpreter", f"{import_ms():.0f} ms"])
    notes = (
        "Target: normalize() a few ms per clip; import well under 1 s. Before loudness was "
        "numpy only, the same machine measured normalize 17.2 ms, LoudnessMeter 1508 ms and "
        "import 830 ms."
    )
    save("loudness", "Loudness speed", rows, notes)


if __name__ == "__main__":
    main()
