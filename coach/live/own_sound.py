"""The coach's own sound in the room: when it sounds, for a microphone to discount
(half-duplex), and the soft blip that acknowledges a spoken command."""

from __future__ import annotations

import bisect
import itertools
import time

import numpy as np

from coach.live.playback import Playback, instruction
from coach.timeline import SAMPLE_RATE, Timeline


# The acknowledgement of a spoken command: a soft 80 ms blip at 1 kHz, -26 dBFS, faded at
# both ends so it cannot click.
def _blip(hz: float = 1000.0, length: int = SAMPLE_RATE * 8 // 100) -> np.ndarray:
    t = np.arange(length) / SAMPLE_RATE
    fade = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)
    return (10 ** (-26 / 20) * np.sin(2 * np.pi * hz * t) * fade).astype(np.float32)


ACK = _blip()


class OwnSound:
    """When the coach's own sound is in the room, for a microphone to discount (half-duplex).

    From the timeline: every event but the rhythm ticks (a tick every second would leave no
    gap to speak in, and a tick is no word), plus whatever was mixed in outside time (a
    repeat, an acknowledgement), while the clock runs. `playback.position` runs ahead of the
    speaker by the device buffer; the listener adds its own margin for that and the room.
    """

    def __init__(self, timeline: Timeline, playback: Playback) -> None:
        self.playback = playback
        self.update(timeline)
        self._until = 0.0  # monotonic time until which an overlay sounds

    def update(self, timeline: Timeline) -> None:
        """The timeline, compiled again as its phrases arrive (coach.live.making)."""
        spans = sorted((e.start, e.end) for e in timeline.events if e.role != "tick")
        # The furthest end among spans starting at or before each one: overlaps merge.
        reach = list(itertools.accumulate((b for _, b in spans), max))
        self.timeline, self._spans = timeline, ([a for a, _ in spans], reach)  # one swap

    def sounding(self) -> bool:
        if time.monotonic() < self._until:
            return True
        if self.playback.paused:
            return False
        starts, reach = self._spans
        i = bisect.bisect_right(starts, self.playback.position) - 1
        return i >= 0 and reach[i] > self.playback.position

    def hold(self, samples: int) -> None:
        """Something `samples` long was mixed in just now."""
        self._until = max(self._until, time.monotonic() + samples / SAMPLE_RATE)

    def acted(self, action: str) -> None:
        if action == "repeat":
            said = instruction(self.timeline, self.timeline.step_at(self.playback.position).index)
            if said:
                self.hold(max(e.end for e in said) - said[0].start)
