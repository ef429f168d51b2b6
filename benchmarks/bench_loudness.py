"""How long loudness work takes per clip: the renderer normalizes every clip once (cached).

Target: normalize() on a few seconds of speech in milliseconds, where ffmpeg's loudnorm over a
whole 60-minute guide takes ~50 s.
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
    save("loudness", "Loudness speed", rows, "Target: normalize() a few ms per clip.")


if __name__ == "__main__":
    main()
