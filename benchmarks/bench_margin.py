"""How far the real voices' lengths stray from the words-a-minute estimate on what decides
whether a routine fits its time: the steps' own words (instructions and reminders), phrase by
phrase and as each step's floor and each routine's shortest length (the sum of its floors,
which `--minutes` must hold). A cold `coach play` lays out the session with the estimate
before the voice has said a word (coach.session `AHEAD_MARGIN` is chosen from this)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench_rate import engines
from common import save

from coach.script.layout import KnownCues
from coach.script.routine import builtin_routines, load_routine
from coach.script.scaling import own_floor, own_group
from coach.sound.cues import Cues
from coach.sound.speech import Estimate

RATES = (100, 110, 160)


def own_words(routine) -> list[str]:
    return list(
        dict.fromkeys(
            [i.text for s in routine.steps for i in own_group(s) if i.text]
            + [r.say for s in routine.steps for r in s.reminders]
        )
    )


def floors(routine, lengths, cues) -> list[int]:
    return [own_floor(s, lengths, cues) for s in routine.steps]


def main() -> None:
    routines = [load_routine(p) for p in builtin_routines()]
    cues = KnownCues(Cues())
    rows = [["engine", "rate", "phrase min", "phrase max", "step floor max", "routine sum max"]]
    worst = 0.0
    with tempfile.TemporaryDirectory() as d:
        for name, make in engines(Path(d)):
            if name == "estimate":
                continue
            for rate in RATES:
                speech, guess = make(rate), Estimate(rate)
                phrase, step, whole = [], [], []
                for routine in routines:
                    texts = own_words(routine)
                    real, est = speech.lengths(texts), guess.lengths(texts)
                    phrase += [real[t] / est[t] for t in texts]
                    fr, fe = floors(routine, real, cues), floors(routine, est, cues)
                    step += [a / b for a, b in zip(fr, fe, strict=True)]
                    whole.append(sum(fr) / sum(fe))
                worst = max(worst, *whole)
                rows.append(
                    [name, str(rate), f"{min(phrase):.3f}", f"{max(phrase):.3f}",
                     f"{max(step):.3f}", f"{max(whole):.3f}"]
                )  # fmt: skip
    save(
        "margin",
        "Real lengths over the estimate, on the steps' own words (3 built-in routines)",
        rows,
        "Ratios real / estimate. Phrase: each instruction sentence and reminder alone; step "
        "floor: the shortest step that holds its own words, cue and pauses included; routine "
        f"sum: the shortest length `--minutes` may ask for. Worst routine sum: {worst:.3f}.",
    )


if __name__ == "__main__":
    main()
