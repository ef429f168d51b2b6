"""How long loudness work takes per clip: the renderer normalizes every clip once (cached).

Target: normalize() on a few seconds of speech in milliseconds, where ffmpeg's loudnorm over a
whole 60-minute guide takes ~50 s; importing the module well under the 1 s `coach play` has to
its first sound.

Then what a listener's meter reads: `coach export quick-relief` in every format at -19 and -16
LUFS (and at -16 with music under it), measured on the encoded files by ffmpeg's ebur128
(integrated loudness, true peak). Targets: within 0.3 LU, true peak at or under -1 dBTP.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from common import coach_command, save

from coach.sound.loudness import LoudnessMeter, integrated_loudness, normalize, true_peak_db
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
    """Cumulative import time of coach.sound.loudness in a fresh interpreter (-X importtime)."""
    code = "import coach.sound.loudness"
    runs = []
    for _ in range(3):
        log = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
        ).stderr
        line = next(row for row in log.splitlines() if row.endswith("| coach.sound.loudness"))
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
    rows.append(["import coach.sound.loudness", "fresh interpreter", f"{import_ms():.0f} ms"])
    notes = (
        "Target: normalize() a few ms per clip; import well under 1 s. Before loudness was "
        "numpy only, the same machine measured normalize 17.2 ms, LoudnessMeter 1508 ms and "
        "import 830 ms."
    )
    save("loudness", "Loudness speed", rows, notes)
    exported()


def ebur128(path: Path) -> tuple[str, str]:
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = err[err.rindex("Summary:") :]
    integrated = re.search(r"I:\s+(\S+) LUFS", summary).group(1)
    return integrated, re.search(r"Peak:\s+(\S+) dBFS", summary).group(1)


def exported() -> None:
    rows = [["target", "music", "format", "measured", "true peak", "size"]]
    with tempfile.TemporaryDirectory() as tmp:
        music = Path(tmp) / "pink.ogg"
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
                        "anoisesrc=d=20:c=pink:a=0.5", str(music)], check=True)  # fmt: skip
        runs = [(t, False, f) for t in (-19, -16) for f in ("wav", "flac", "mp3", "m4a", "ogg")]
        runs += [(-16, True, "wav"), (-16, True, "m4a")]
        for target, with_music, fmt in runs:
            out = Path(tmp) / f"guide.{fmt}"
            args = ["export", "quick-relief", "--voice", "en-us", "--loudness", str(target)]
            args += ["--transcript", "none", "-o", str(out)]
            args += ["--music", str(music)] if with_music else []
            subprocess.run(coach_command() + args, check=True, stdout=subprocess.DEVNULL)
            integrated, peak = ebur128(out)
            size = f"{out.stat().st_size * 8 / 300 / 1000:.0f} kbit/s"
            music_note = "pink noise" if with_music else ""
            rows.append([f"{target} LUFS", music_note, fmt, f"{integrated} LUFS", f"{peak} dBTP",
                         size])  # fmt: skip
            print(" | ".join(rows[-1]), flush=True)
    notes = (
        "Measured on the encoded 5-minute files. MP3 is LAME VBR quality 2 (constant 64 kbit/s "
        "came out 0.5 LU quiet); lossy formats limit their clips to -2.5 dBTP because the "
        "codecs overshoot. With music the bed adds to the measured loudness; the voice sets it. "
        "Louder than -16 LUFS is refused: at -14 Vorbis peaked at -0.7 dBTP and AAC measured "
        "-14.5. The machine was shared with other work while this ran."
    )
    save("loudness-exported", "Loudness of exported guides, as ffmpeg's ebur128 reads them",
         rows, notes)  # fmt: skip


if __name__ == "__main__":
    main()
