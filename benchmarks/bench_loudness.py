"""How long loudness normalization takes per clip (the renderer normalizes each clip once).

Run: .venv/bin/python benchmarks/bench_loudness.py
"""

from __future__ import annotations

import subprocess
import timeit

import numpy as np

from coach.loudness import integrated_loudness, normalize, true_peak_db

TEXT = "Glide slowly up beside the spine, then let your hands come back down."


def speech() -> np.ndarray:
    out = subprocess.run(["espeak-ng", "--stdout", TEXT], capture_output=True, check=True).stdout
    data = out.find(b"data") + 8
    pcm = out[data : data + (len(out) - data) // 2 * 2]
    return np.frombuffer(pcm, "<i2").astype(np.float64) / 32768.0


def run() -> list[str]:
    clip = speech()
    secs = len(clip) / 22050
    lines = []
    for name, call in (
        ("integrated_loudness", lambda: integrated_loudness(clip)),
        ("true_peak_db", lambda: true_peak_db(clip)),
        ("normalize to -19 LUFS", lambda: normalize(clip, -19.0)),
    ):
        call()  # warm up
        best = min(timeit.repeat(call, number=10, repeat=3)) / 10
        lines.append(f"{name} on {secs:.1f} s of espeak speech: {best * 1000:.1f} ms")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
