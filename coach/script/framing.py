"""Framing: the spoken pre-roll before the massage and the aftercare after it.

Pure: a compiled massage `Timeline` in (its steps tile [0, duration) from the routine's first
step), the framed `Timeline` out. The framed timeline is what preview, play and export use:

    [lead-in][pre-roll: "Before you start", step 0][the massage, steps 1..n][aftercare, n + 1]

- The first sound is `LEAD_IN` after sample 0: Bluetooth and phone players often swallow the
  first 100-300 ms of a file.
- The massage keeps its own clock: its steps and events move by `massage_start`, unchanged
  otherwise, so a chosen length in minutes is still the massage's, and the halfway bell is the
  massage's halfway.
- A question in the pre-roll is followed by `ANSWER` of silence, for the partner's answer (or,
  for yourself, each item of the checklist, to think); the pre-roll says to pause for longer.
- The aftercare follows the closing gong after a short rest.
"""

from __future__ import annotations

from dataclasses import replace

from coach.script.layout import SpeechLengths
from coach.script.model import Routine
from coach.script.safety import Line, aftercare, pre_roll
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

S = SAMPLE_RATE
LEAD_IN = S // 2  # silence before the first sound (players swallow the first 100-300 ms)
PAUSE = S  # between two lines, as between separate things in the massage
ANSWER = 6 * S  # after a question: 4 s held only a "no"; 6 s holds a short answer and a breath
BEFORE_MASSAGE = 2 * S  # from "the massage begins with a chime" to that chime
AFTER_GONG = 3 * S  # a rest after the closing gong (the gong's clip holds its whole tail)
TAIL = S  # silence after the last word, so a player's fade-out takes nothing

PRE_ROLL_TITLE = "Before you start"
AFTERCARE_TITLE = "Afterwards"


def frame(
    massage: Timeline, routine: Routine, speech: SpeechLengths, screening: bool = True
) -> Timeline:
    """`massage` with the pre-roll before it and the aftercare after it.

    `screening` False leaves the health questions out of the pre-roll; the stop rule stays.
    """
    before, after = pre_roll(routine, screening), aftercare(routine)
    lengths = speech.lengths(phrases(routine, screening))
    events: list[Event] = []
    last = massage.steps[-1].index

    start = _say(before, LEAD_IN, 0, lengths, events)
    start += ANSWER if before[-1].answer else BEFORE_MASSAGE
    end = start + massage.duration
    duration = _say(after, end + AFTER_GONG, last + 1, lengths, events) + TAIL

    moved = lambda x: replace(x, start=x.start + start, end=x.end + start)  # noqa: E731
    steps = (
        StepSpan(0, PRE_ROLL_TITLE, "", "", 0, start),
        *(moved(s) for s in massage.steps),
        StepSpan(last + 1, AFTERCARE_TITLE, "", "", end, duration),
    )
    events += [moved(e) for e in massage.events]
    return replace(
        massage,
        duration=duration,
        steps=steps,
        events=tuple(sorted(events, key=lambda e: (e.start, e.end))),
        massage_start=start,
        massage_end=end,
    )


def phrases(routine: Routine, screening: bool = True) -> list[str]:
    """Every text `frame` asks the speech engine for."""
    lines = (*pre_roll(routine, screening), *aftercare(routine))
    return list(dict.fromkeys(line.text for line in lines))


def _say(lines: tuple[Line, ...], t: int, step: int, lengths, events: list[Event]) -> int:
    """Speak `lines` one after the other from `t`; returns where the last one ends."""
    for k, line in enumerate(lines):
        if k:
            t += ANSWER if lines[k - 1].answer else PAUSE
        n = lengths[line.text]
        events.append(Event("speech", t, t + n, step, line.role, text=line.text))
        t += n
    return t
