"""The neural voice (Piper): cold synthesis of each built-in routine by the coach next to
Piper's own command on the same sentences, onnxruntime threads against worker processes that
each hold the model, how soon a cold first sound could come, and a warm preview's time and
imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import coach_command, save

from coach.lexicon import lexicon_for, respell
from coach.sound import piper

ROUTINES = ["quick-relief", "self-massage", "classic-back"]
REPEATS = 3
BIN = Path(sys.executable).parent


def env(cache: str) -> dict[str, str]:
    """A user with no COACH_VOICE (the Piper default) and the given cache folder."""
    out = {k: v for k, v in os.environ.items() if k != "COACH_VOICE"}
    out["XDG_CACHE_HOME"] = cache
    return out


def timed(command: list[str], environment: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=True)
    return time.perf_counter() - start, done.stdout


def texts_of(timeline: dict) -> list[str]:
    """The phrases as the coach gives them to Piper: the massage terms as phonemes."""
    said = dict.fromkeys(e["text"] for e in timeline["events"] if e["kind"] == "speech")
    return [respell(t, lexicon_for("en-us"), "piper") for t in said]


def cold_routine(name: str) -> tuple[float, float, list[str], dict]:
    """Seconds for the coach (fresh cache) and for `piper` on the same sentences."""
    voice = piper.bundled_voice()
    with tempfile.TemporaryDirectory() as d:
        secs, out = timed([*coach_command(), "preview", name, "--format", "json"], env(d))
        timeline = json.loads(out)
        texts = texts_of(timeline)
        lines = Path(d) / "sentences.txt"
        lines.write_text("\n".join(texts) + "\n")
        own, _ = timed(
            [str(BIN / "piper"), "-m", str(voice.model), "-c", str(voice.config),
             "-i", str(lines), "-f", str(Path(d) / "all.wav"),
             "--length-scale", f"{piper.length_scale(timeline['rate']):.6f}",
             "--noise-scale", "0", "--noise-w-scale", "0"],
            env(d),
        )  # fmt: skip
    return secs, own, texts, timeline


IN_PROCESS = """
import json, sys, time
t = time.perf_counter()
import onnxruntime
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig
from coach.sound import piper
voice = piper.bundled_voice()
options = onnxruntime.SessionOptions()
options.intra_op_num_threads = int(sys.argv[1])
model = PiperVoice(
    config=PiperConfig.from_dict(json.loads(voice.config.read_text())),
    session=onnxruntime.InferenceSession(str(voice.model), sess_options=options),
)
settings = SynthesisConfig(length_scale=piper.length_scale(120), noise_scale=0, noise_w_scale=0)
for text in json.loads(sys.argv[2]):
    b"".join(c.audio_int16_bytes for c in model.synthesize(text, settings))
print(time.perf_counter() - t)
"""


def in_process(texts: list[str], threads: int) -> float:
    """One fresh process, the model on `threads` onnxruntime threads, loading included."""
    done = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(threads), json.dumps(texts)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout)


def the_coachs_way(texts: list[str]) -> float:
    """As the coach makes phrases (worker processes each holding the model), loads included."""
    with tempfile.TemporaryDirectory() as d:
        speech = piper.PiperSpeech(piper.bundled_voice(), cache_dir=Path(d))
        start = time.perf_counter()
        speech.lengths(texts)
        return time.perf_counter() - start


WARM = """
import sys, time
t = time.perf_counter()
from coach.cli import main
try:
    main(["preview", sys.argv[1], "--format", "json"])
except SystemExit:
    pass
print(time.perf_counter() - t, sorted(m for m in ("onnxruntime", "piper", "numpy")
      if m in sys.modules), file=sys.stderr)
"""


def main() -> None:
    cores = os.cpu_count() or 1
    rows = [["measure", "value"]]
    # Each measure is the best of REPEATS, the contenders taking turns, so a burst of other
    # work on the machine does not decide a comparison.
    timelines, cold = {}, {}
    for _ in range(REPEATS):
        for name in ROUTINES:
            coach, own, texts, timelines[name] = cold_routine(name)
            best = cold.get(name, (coach, own, len(texts)))
            cold[name] = (min(best[0], coach), min(best[1], own), len(texts))
    for name, (coach, own, n) in cold.items():
        rows.append(
            [f"cold, {name} ({n} phrases): coach / `piper` CLI, same sentences",
             f"{coach:.1f} s / {own:.1f} s = {coach / own:.2f}x"]
        )  # fmt: skip

    sample = texts_of(timelines["quick-relief"])[:30]
    ways = {f"one process, {n} onnxruntime thread(s)": n for n in sorted({1, cores})}
    ways[f"the coach: {cores} worker processes each holding the model, 1 thread each"] = 0
    best = {}
    for _ in range(REPEATS):
        for label, threads in ways.items():
            secs = in_process(sample, threads) if threads else the_coachs_way(sample)
            best[label] = min(best.get(label, secs), secs)
    for label, secs in best.items():
        rows.append([f"30 phrases, {label}, loads included", f"{secs:.1f} s"])

    # How soon could a cold `coach play` make its first sound? At best, with a compiler that
    # lays steps out as their phrases arrive: once step 1's phrases are made (a step's layout
    # depends on all of its own words). Made here as the coach makes them.
    t = timelines["classic-back"]
    first = list(dict.fromkeys(e["text"] for e in t["events"] if e["kind"] == "speech"
                               and e["step"] == 1))  # fmt: skip
    cases = (("its first phrase", first[:1]), (f"step 1's {len(first)} phrases", first))
    for label, texts in cases:
        secs = min(the_coachs_way(texts) for _ in range(REPEATS))
        rows.append([f"cold, classic-back: {label} made (model loads included)", f"{secs:.2f} s"])

    with tempfile.TemporaryDirectory() as d:
        timed([*coach_command(), "preview", "classic-back"], env(d))  # warm the cache
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", WARM, "classic-back"],
                capture_output=True, text=True, env=env(d), check=True,
            )  # fmt: skip
            runs.append((time.perf_counter() - start, done.stderr.strip()))
        best = min(runs)
        rows.append(["warm `coach preview classic-back`, whole process (best of 5)",
                     f"{best[0]:.3f} s"])  # fmt: skip
        rows.append(["... modules loaded of onnxruntime, piper, numpy", best[1].split(" ", 1)[1]])
    notes = (
        "The machine was shared with other work while this ran (2 cores): compare ratios. "
        "Both sides use length_scale(rate) and no noise, so they make the same audio; "
        "`piper` gets all sentences in one file through one process."
    )
    save("piper", "Neural voice (Piper, en_US-joe-medium, 120 wpm)", rows, notes)


if __name__ == "__main__":
    main()
