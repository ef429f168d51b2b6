"""The renderer: a timeline in, consecutive blocks of PCM out, sample-exact and streaming.

Each event's clip is added at exactly its `start` sample; overlapping clips (a rhythm tick under
speech) are mixed by adding. Only the clips sounding in the current block are touched, so memory
stays constant whatever the length of the session (a 3-hour routine needs no more than a
10-minute one), and playback can start at any sample without rendering what comes before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from coach.timeline import SAMPLE_RATE, Event, Timeline

# 100 ms: small enough for a live player to react quickly, large enough to keep numpy busy.
BLOCK = SAMPLE_RATE // 10

ClipSource = Callable[[Event], np.ndarray]

# Spoken word, mono: -19 LUFS integrated (the usual podcast target; -16 is for stereo).
DEFAULT_LOUDNESS = -19.0
# Cues sit under the voice: audible, never startling. The rhythm tick is a whisper.
CUE_OFFSET_LU = -5.0
TICK_OFFSET_LU = -16.0


class Sounds:
    """The clip source for real sessions: speech and cues, each loudness-normalized once.

    Normalizing per clip (cached) instead of per file keeps every phrase equally loud and costs
    milliseconds, where normalizing a whole hour with ffmpeg's loudnorm takes ~50 s.
    """

    def __init__(self, speech, cues, loudness: float = DEFAULT_LOUDNESS):
        self.speech = speech
        self.cues = cues
        self.loudness = loudness
        self._clips: dict[tuple[str, str], np.ndarray] = {}

    def __call__(self, event: Event) -> np.ndarray:
        from coach.loudness import normalize

        key = (event.kind, event.text if event.kind == "speech" else event.name)
        sound = self._clips.get(key)
        if sound is None:
            if event.kind == "speech":
                raw, target = self.speech.clip(event.text), self.loudness
            else:
                raw = self.cues.clip(event.name)
                offset = TICK_OFFSET_LU if event.name == "tick" else CUE_OFFSET_LU
                target = self.loudness + offset
            sound = normalize(raw.astype(np.float32) / 32768.0, target)
            self._clips[key] = sound
        return sound


def render(
    timeline: Timeline,
    clip: ClipSource,
    start: int = 0,
    end: int | None = None,
    block: int = BLOCK,
) -> Iterator[np.ndarray]:
    """Yield float32 blocks that together cover samples [start, end) of the timeline exactly.

    `clip(event)` returns the event's sound as float32, exactly `event.length` samples long.
    Every block is `block` samples except possibly the last.
    """
    end = timeline.duration if end is None else end
    pending = [e for e in timeline.events if e.end > start and e.start < end]
    pending.sort(key=lambda e: e.start)
    active: list[tuple[Event, np.ndarray]] = []
    next_event = 0
    for b0 in range(start, end, block):
        b1 = min(b0 + block, end)
        out = np.zeros(b1 - b0, dtype=np.float32)
        while next_event < len(pending) and pending[next_event].start < b1:
            event = pending[next_event]
            sound = clip(event)
            if len(sound) != event.length:
                raise ValueError(
                    f"clip for {event.kind} {event.text or event.name!r} has {len(sound)} "
                    f"samples, the timeline says {event.length}"
                )
            active.append((event, sound))
            next_event += 1
        for event, sound in active:
            lo, hi = max(event.start, b0), min(event.end, b1)
            if lo < hi:
                out[lo - b0 : hi - b0] += sound[lo - event.start : hi - event.start]
        active = [(e, s) for e, s in active if e.end > b1]
        yield out


def to_pcm16(block: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as little-endian signed 16-bit PCM (clipped, never wrapped)."""
    return (np.clip(block, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
