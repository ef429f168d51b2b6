"""A hand-built session of real tone bursts, playable by the real player.

Each step's "instruction" is a burst at its own pitch (so a capture shows which step sounded),
and a short high "cue" sits in the middle of each step. With `parts=2` the instruction is two
bursts, the second 100 Hz higher, as the compiler makes one event per sentence. Run as a script
it plays the session the way `coach play` does: `python tests/tones.py [--steps N]
[--step-seconds S] [--parts P] [--from-step K] [--no-keys] [--keys SPEC]`.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from coach.cli import run_live, worded
from coach.errors import CoachError
from coach.live.keys import Keyboard, parse_keymap
from coach.session import LiveSession, Session, SessionSpec
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

INSTRUCTION = SAMPLE_RATE * 3 // 20  # 150 ms
CUE = SAMPLE_RATE // 20  # 50 ms
PART_GAP = SAMPLE_RATE // 10  # 100 ms between the parts of an instruction
CUE_HZ = 2500.0


def step_hz(step: int, part: int = 1) -> float:
    return 300.0 + 200.0 * step + 100.0 * (part - 1)


def tone_timeline(steps: int = 4, step_seconds: float = 1.5, parts: int = 1) -> Timeline:
    length = round(step_seconds * SAMPLE_RATE)
    spans, events = [], []
    for k in range(1, steps + 1):
        start = (k - 1) * length
        spans.append(StepSpan(k, f"Tone {k}", "effleurage", f"area {k}", start, start + length))
        for part in range(1, parts + 1):
            at = start + (part - 1) * (INSTRUCTION + PART_GAP)
            events.append(
                Event("speech", at, at + INSTRUCTION, k, "instruction", text=f"tone {k} {part}")
            )
        mid = start + length // 2
        events.append(Event("cue", mid, mid + CUE, k, "cue", name="cue"))
    return Timeline("Tones", steps * length, tuple(spans), tuple(events))


def tone(hz: float, length: int) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def tone_clip(event: Event) -> np.ndarray:
    if event.kind == "cue":
        return tone(CUE_HZ, event.length)
    _, step, part = event.text.split()
    return tone(step_hz(int(step), int(part)), event.length)


def tone_session(
    steps: int = 4, step_seconds: float = 1.5, parts: int = 1, from_step: int | None = None
) -> Session:
    """The tone timeline as a session a LiveSession plays (with `sounds=tone_clip`)."""
    timeline = tone_timeline(steps, step_seconds, parts)
    return Session(SessionSpec("tones", from_step=from_step), None, None, None, timeline)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--step-seconds", type=float, default=1.5)
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--from-step", type=int, default=1)
    parser.add_argument("--no-keys", action="store_true")
    parser.add_argument("--keys")
    args = parser.parse_args(argv)
    try:
        keyboard = Keyboard(parse_keymap(args.keys), enabled=not args.no_keys)
        session = tone_session(args.steps, args.step_seconds, args.parts, args.from_step)
        live = LiveSession(session, controls=[keyboard], sounds=tone_clip)
        return run_live(live, "coach play tones", keys=keyboard.help)
    except CoachError as exc:
        print(f"Error: {worded(exc)}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
