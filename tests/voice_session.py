"""A hand-built session whose coach speaks with the Piper voice (which the recognizer hears,
unlike espeak-ng), played by the real player with the real voice control.

Each step opens with a 150 ms tone at its own pitch (tones.step_hz, so a capture shows which
step sounded), then the coach saying `--say` (e.g. "Coach, next.": the coach itself saying a
command is the hardest echo there is), and a short tone (tones.CUE_HZ) in its middle; the rest is
silence, a gap to speak in. Run as a script it plays the session the way `coach play --listen`
does: `python tests/voice_session.py [--steps N] [--step-seconds S] [--say TEXT] [--listen]`.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from phrases import say
from tones import CUE_HZ, INSTRUCTION, PART_GAP, step_hz, tone

from coach.cli import run_live
from coach.errors import CoachError
from coach.live.keys import DEFAULT_KEYS, Keyboard
from coach.session import LiveSession, Session, SessionSpec
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

CUE = SAMPLE_RATE // 10


def voice_timeline(steps: int, step_seconds: float, text: str) -> Timeline:
    length = round(step_seconds * SAMPLE_RATE)
    spoken = len(say(text))
    spans, events = [], []
    for k in range(1, steps + 1):
        start = (k - 1) * length
        spans.append(StepSpan(k, f"Step {k}", "effleurage", "back", start, start + length))
        events.append(Event("cue", start, start + INSTRUCTION, k, "cue", name=str(step_hz(k))))
        at = start + INSTRUCTION + PART_GAP
        events.append(Event("speech", at, at + spoken, k, "instruction", text=text))
        mid = start + length // 2
        events.append(Event("cue", mid, mid + CUE, k, "cue", name=str(CUE_HZ)))
    return Timeline("Voice", steps * length, tuple(spans), tuple(events))


def clip(event: Event) -> np.ndarray:
    return tone(float(event.name), event.length) if event.kind == "cue" else say(event.text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--say", default="Take a deep breath.")
    parser.add_argument("--listen", action="store_true")
    args = parser.parse_args(argv)
    timeline = voice_timeline(args.steps, args.step_seconds, args.say)
    controls = [Keyboard(DEFAULT_KEYS)]
    try:
        if args.listen:
            from coach.live.listen import Listener

            controls.append(Listener(own_words=[e.text for e in timeline.speech()]))
        session = Session(SessionSpec("voice"), None, None, None, timeline)
        live = LiveSession(session, controls=controls, sounds=clip)
        keys = "  ".join(c.help for c in controls if c.help)
        return run_live(live, "coach play voice", keys=keys)
    except CoachError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
