"""The rate as heard: words over the trimmed clips' length, for every phrase of the built-in
routines, at a few rates, for espeak-ng, the Piper voice and the estimate. `--rate R` should
be heard at R (within 10 %, which tests/test_rate.py checks on a few sentences)."""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

from common import save

from coach.script import framing
from coach.script.compiler import phrases
from coach.script.routine import builtin_routines, load_routine
from coach.sound import piper
from coach.sound.espeak import Speech
from coach.sound.speech import DEFAULT_RATE, Estimate, heard_rate, words
from coach.timeline import SAMPLE_RATE

RATES = sorted({100, DEFAULT_RATE, 120, 160})


def texts() -> list[str]:
    """Every phrase of the built-in routines: their steps, pre-roll and aftercare."""
    found = []
    for path in builtin_routines():
        routine = load_routine(path)
        found += [*phrases(routine), *framing.phrases(routine)]
    return list(dict.fromkeys(found))


def engines(cache: Path):
    yield "espeak-ng (en-us)", lambda rate: Speech(rate=rate, cache_dir=cache)
    if not piper.available() and piper.bundled_voice():
        voice = piper.bundled_voice()
        yield f"Piper ({voice.name})", lambda rate: piper.PiperSpeech(voice, rate, cache)
    yield "estimate", Estimate


def main() -> None:
    said = texts()
    rows = [["engine", "rate asked", "heard, all phrases", "median phrase", "setting"]]
    with tempfile.TemporaryDirectory() as d:
        for name, make in engines(Path(d)):
            for rate in RATES:
                speech = make(rate)
                lengths = speech.lengths(said)
                median = statistics.median(
                    words(t) * 60 * SAMPLE_RATE / n for t, n in lengths.items()
                )
                setting = getattr(speech, "speed", None)
                setting = f"-s {setting}" if setting else ""
                if hasattr(speech, "length_scale"):
                    setting = f"length_scale {speech.length_scale:.3f}"
                rows.append(
                    [name, str(rate), f"{heard_rate(lengths):.1f}", f"{median:.1f}", setting]
                )
    save(
        "rate",
        f"The rate as heard ({len(said)} phrases of the built-in routines)",
        rows,
        "Heard: all the phrases' words over all their trimmed clips' length, in words a "
        "minute; median phrase: the same for each phrase alone. The engines' settings are "
        "fitted (coach/sound/espeak.py SPEED, coach/sound/piper.py PER_WORD) so the first "
        "lands on the rate asked.",
    )


if __name__ == "__main__":
    main()
