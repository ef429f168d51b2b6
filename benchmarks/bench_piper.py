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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import coach_command, save

from coach import piper

ROUTINES = ["quick-relief", "self-massage", "classic-back"]
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
    return list(dict.fromkeys(e["text"] for e in timeline["events"] if e["kind"] == "speech"))


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
             "--length-scale", f"{piper.PACE / timeline['rate']:.6f}",
             "--noise-scale", "0", "--noise-w-scale", "0"],
            env(d),
        )  # fmt: skip
    return secs, own, texts, timeline


_model = None


def _load(threads: int) -> None:
    global _model
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    voice = piper.bundled_voice()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(voice.model), sess_options=options)
    config = PiperConfig.from_dict(json.loads(voice.config.read_text()))
    _model = PiperVoice(config=config, session=session)


def _speak(text: str) -> int:
    from piper import SynthesisConfig

    settings = SynthesisConfig(length_scale=piper.PACE / 120, noise_scale=0, noise_w_scale=0)
    return sum(len(c.audio_int16_bytes) for c in _model.synthesize(text, settings))


def in_process(texts: list[str], threads: int) -> float:
    start = time.perf_counter()
    _load(threads)
    for t in texts:
        _speak(t)
    return time.perf_counter() - start


def workers(texts: list[str], n: int) -> float:
    start = time.perf_counter()
    with ProcessPoolExecutor(n, initializer=_load, initargs=(1,)) as pool:
        list(pool.map(_speak, texts, chunksize=1))
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
    timelines = {}
    for name in ROUTINES:
        coach, own, texts, timelines[name] = cold_routine(name)
        rows.append(
            [f"cold, {name} ({len(texts)} phrases): coach / `piper` CLI, same sentences",
             f"{coach:.1f} s / {own:.1f} s = {coach / own:.2f}x"]
        )  # fmt: skip

    sample = texts_of(timelines["quick-relief"])[:30]
    for threads in sorted({1, cores}):
        secs = in_process(sample, threads)
        rows.append([f"30 phrases, one process, {threads} onnxruntime thread(s), incl. load",
                     f"{secs:.1f} s"])  # fmt: skip
    secs = workers(sample, cores)
    rows.append([f"30 phrases, {cores} worker processes each holding the model, incl. loads",
                 f"{secs:.1f} s"])  # fmt: skip

    # How soon could a cold `coach play` make its first sound? At best: load the model and
    # make the first step's phrases (the layout of a step depends only on that step).
    t = timelines["classic-back"]
    first = list(dict.fromkeys(e["text"] for e in t["events"] if e["kind"] == "speech"
                               and e["step"] == 1))  # fmt: skip
    start = time.perf_counter()
    _load(cores)
    loaded = time.perf_counter() - start
    for text in first:
        _speak(text)
    made = time.perf_counter() - start
    rows.append(["cold first sound, lower bound: model load", f"{loaded:.2f} s"])
    rows.append([f"... + classic-back step 1's {len(first)} phrases", f"{made:.2f} s"])

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
        "Both sides use length_scale PACE/rate and no noise, so they make the same audio; "
        "`piper` gets all sentences in one file through one process."
    )
    save("piper", "Neural voice (Piper, en_US-joe-medium, 120 wpm)", rows, notes)


if __name__ == "__main__":
    main()
