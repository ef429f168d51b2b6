"""The session clock against the device's: silence the device played that it was never handed
(an underrun), how far the session fell behind, and where it may skip silence to catch up.

When the machine stalls the player for longer than the device buffer (50 ms), the device plays
silence it was never given (an underrun), and so does a renderer that falls behind. Counting
only the samples handed over would then make every later sound late by the stall, for good
(a 1 s SIGSTOP: +946 ms to the end of the session). So the player counts that silence as time
played, and catches up by skipping silence on the timeline, never sound: a phrase cut by a
stall finishes whole, and the skip waits for the next gap, which keeps at least `KEEP_GAP`
(coach.live.playback); a stall in a pause is made up in the rest of that pause. Audio is never
sped up.
"""

from __future__ import annotations

import bisect
import dataclasses

from coach.timeline import SAMPLE_RATE, Timeline

# A lost stretch counts once two stamps in a row show it past this: the stamps jitter by under
# half a millisecond here (10 samples).
TOLERANCE = SAMPLE_RATE // 500
# How fast the stamps' reference may sink: a device crystal runs up to ~50 ppm off the system
# clock. Faster sinking would let jitter ratchet the session ahead of the device.
DRIFT = 1e-4


class DeviceClock:
    """How much silence a device played that it was never handed, from PortAudio's stamps.

    Each buffer comes stamped with the time its first sample will reach the device. While the
    stream runs, that time (in samples) minus the samples handed over stays put; after an
    underrun it has moved on by exactly the silence the device played meanwhile. Stamps are
    only believed when the clock moved since the last callback (PortAudio fills the buffer in
    a burst at start and after an underrun, stamping guesses) and the buffer holds at least
    half its latency (after a stall the sound server reported an empty buffer for ~1 s, with
    stamps of "now", before its timing caught up; and it did not always flag an underflow).
    """

    def __init__(self, rate: int, latency: float) -> None:
        self.rate = rate
        self.latency = latency
        self.handed = 0
        self._ref: float | None = None  # stamp in samples minus samples handed, when steady
        self._last_time: float | None = None
        self._last_gap = 0.0

    def late(self, frames: int, now: float, stamp: float) -> int:
        """Samples of unscheduled silence newly found at a callback of `frames` samples, made
        at time `now` with its first sample stamped `stamp` (PortAudio's stream times)."""
        ahead = stamp * self.rate - self.handed
        self.handed += frames
        moved = self._last_time is not None and now - self._last_time >= frames / self.rate / 2
        self._last_time = now
        if not moved or stamp - now < self.latency / 2:
            return 0
        if self._ref is None:
            self._ref = ahead
            return 0
        # The reference sinks no faster than DRIFT allows, and rises only by what is reported:
        # jitter can never ratchet the session ahead of the device.
        if ahead < self._ref:
            self._ref = max(ahead, self._ref - frames * DRIFT)
        gap = ahead - self._ref
        sure, self._last_gap = min(gap, self._last_gap), gap
        if sure < TOLERANCE:
            return 0
        self._ref += int(sure)
        self._last_gap -= int(sure)
        return int(sure)


@dataclasses.dataclass(frozen=True)
class Lag:
    """How the session kept to the device's clock: `dropouts` times it fell behind (the
    device or the renderer went without sound it was owed), `caught_up` samples of silence
    skipped to make up for it, in `catch_ups` goes, and `behind` samples still to make up."""

    dropouts: int = 0
    catch_ups: int = 0
    caught_up: int = 0
    behind: int = 0


class Gaps:
    """Where a timeline may be skipped to catch up: wherever nothing sounds, except the last
    `keep` samples before each sound (and `reach` around it, where music is ducked)."""

    def __init__(self, timeline: Timeline, keep: int, reach: int = 0) -> None:
        self.duration = timeline.duration
        self.starts: list[int] = []
        self.ends: list[int] = []
        for e in timeline.events:  # sorted by start
            lo, hi = e.start - keep - reach, e.end + reach
            if self.ends and lo <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], hi)
            else:
                self.starts.append(lo)
                self.ends.append(hi)

    def quiet(self, position: int) -> int:
        """Samples that may be skipped from `position` on (0 while something sounds)."""
        i = bisect.bisect_right(self.starts, position)
        if i and position < self.ends[i - 1]:
            return 0
        return (self.starts[i] if i < len(self.starts) else self.duration) - position

    def sounding(self, position: int) -> int:
        """Samples from `position` to the end of the sound playing there (0 if none)."""
        i = bisect.bisect_right(self.starts, position)
        return max(0, self.ends[i - 1] - position) if i else 0
