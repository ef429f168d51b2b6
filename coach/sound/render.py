"""The renderer: a timeline in, consecutive blocks of PCM out, sample-exact and streaming.

Each event's clip is added at exactly its `start` sample; overlapping clips (a rhythm tick under
speech) are mixed by adding. Only the clips sounding in the current block are touched, so memory
stays constant whatever the length of the session (a 3-hour routine needs no more than a
10-minute one), and playback can start at any sample without rendering what comes before it.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import importlib.util
import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from coach.cache import cache_root, store
from coach.sound import DEFAULT_LOUDNESS
from coach.sound.music import FADE, Music, bed_gain, duck_spans
from coach.timeline import SAMPLE_RATE, Event, Timeline

# 100 ms: small enough for a live player to react quickly, large enough to keep numpy busy.
BLOCK = SAMPLE_RATE // 10

ClipSource = Callable[[Event], np.ndarray]

# Cues sit under the voice: audible, never startling. The rhythm tick is a whisper.
CUE_OFFSET_LU = -5.0
TICK_OFFSET_LU = -16.0
# True-peak ceiling of every clip: 1.5 dB of room under full scale, as broadcasters keep.
CEILING_DBTP = -1.5
# Normalized clips kept in memory (6 minutes of float32 sound): every clip of a usual routine,
# while the 36 minutes of a 5000-word instruction (190 MB) come back from the cache folder.
CLIP_MEMORY = 32_000_000
# Every speech clip fades in and out over 4 ms, inside its event: trimmed speech starts and
# ends on a step from or to digital silence (up to -28 dBFS measured), a soft tick on
# headphones. Short enough to leave the first syllable's attack and the onset sample alone.
SPEECH_FADE = SAMPLE_RATE * 4 // 1000
# Passes over the whole guide to bring it to its loudness (see `calibrated`).
CALIBRATION_PASSES = 2
# The clip loudness above the target that makes a whole guide measure the target, for a voice
# never calibrated yet (see `expected`).
DEFAULT_LIFT = 1.0


class Sounds:
    """The clip source for real sessions: speech and cues, each loudness-normalized once.

    Normalizing per clip instead of per file keeps every phrase equally loud and costs
    milliseconds, where normalizing a whole hour with ffmpeg's loudnorm takes ~50 s. Normalized
    clips are kept in the cache folder (keyed by the raw clip, the target and the normalizer's
    source), so a second export of the same routine normalizes nothing, and the most recently
    used ones, up to CLIP_MEMORY bytes, in memory. Speech clips are faded (`faded`) after the
    cache, so the cache never holds a stale fade.
    """

    def __init__(
        self,
        speech,
        cues,
        loudness: float = DEFAULT_LOUDNESS,
        ceiling_dbtp: float = CEILING_DBTP,
        cache_dir: Path | None = None,
    ):
        self.speech = speech
        self.cues = cues
        self.loudness = loudness
        self.ceiling_dbtp = ceiling_dbtp
        self.cache_dir = cache_dir
        self._clips: OrderedDict[tuple[str, str], tuple[str, np.ndarray]] = OrderedDict()
        self._held = 0  # bytes of sound in self._clips

    @functools.cached_property
    def _cache(self) -> Path:
        return cache_root(self.cache_dir) / "normalized"

    def key(self, event: Event) -> str:
        """A digest of everything that shapes the event's sound."""
        return self._clip(event)[0]

    def __call__(self, event: Event) -> np.ndarray:
        return self._clip(event)[1]

    def _clip(self, event: Event) -> tuple[str, np.ndarray]:
        name = (event.kind, event.text if event.kind == "speech" else event.name)
        found = self._clips.get(name)
        if found is None:
            fade = 0
            if event.kind == "speech":
                raw, target, fade = self.speech.clip(event.text), self.loudness, SPEECH_FADE
            else:
                raw = self.cues.clip(event.name)
                offset = TICK_OFFSET_LU if event.name == "tick" else CUE_OFFSET_LU
                target = self.loudness + offset
            recipe = f"{_normalizer_digest()} {target:.4f} {self.ceiling_dbtp:.4f}".encode()
            key = hashlib.sha256(recipe + raw.astype("<i2").tobytes()).hexdigest()
            sound = faded(self._normalized(key, raw, target), fade)
            # The key names the fade too: it is what the guide's cached loudness is keyed by.
            key = hashlib.sha256(f"{key} raised-cosine fade {fade}".encode()).hexdigest()
            found = self._clips[name] = (key, sound)
            self._held += sound.nbytes
            while self._held > CLIP_MEMORY and len(self._clips) > 1:
                self._held -= self._clips.popitem(last=False)[1][1].nbytes
        else:
            self._clips.move_to_end(name)
        return found

    def _normalized(self, key: str, raw: np.ndarray, target: float) -> np.ndarray:
        path = self._cache / f"{key}.f32"
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if len(data) == 4 * len(raw):
                return np.frombuffer(data, dtype="<f4").copy()
        from coach.sound.loudness import (
            normalize,  # only on a cache miss: a warm run needs none of it
        )

        sound = normalize(raw.astype(np.float32) / 32768.0, target, self.ceiling_dbtp)
        store(path, sound.astype("<f4").tobytes())
        return sound


def faded(sound: np.ndarray, length: int) -> np.ndarray:
    """`sound` with raised-cosine fades over its first and last `length` samples (fewer for
    a clip shorter than two fades), in place. Gains are taken mid-sample, so the first and
    last samples are scaled by under 1e-4 and no sample is zeroed outright."""
    n = min(length, len(sound) // 2)
    if n:
        ramp = np.sin(np.pi / 2 * (np.arange(n) + 0.5) / n).astype(np.float32) ** 2
        sound[:n] *= ramp
        sound[len(sound) - n :] *= ramp[::-1]
    return sound


@functools.cache
def _normalizer_digest() -> str:
    """Changes whenever the normalizer's code does, so stale cached clips are never used."""
    # Located, not imported: a warm run never loads the normalizer at all.
    source = Path(importlib.util.find_spec("coach.sound.loudness").origin)
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def calibrated(timeline: Timeline, sounds: Sounds) -> Sounds:
    """Sounds that make the whole rendered `timeline` measure `sounds.loudness` integrated.

    Clips normalized one by one leave the whole about 1 LU quieter: the 400 ms blocks that
    straddle a phrase's edges count its pauses. Measuring passes fix that: the first corrects
    the level, the second what the limiter took back of that correction at loud targets (one
    pass left -16 at -16.1 and -14 at -14.4). Only blocks with sound, plus the first silent
    second after each (its blocks are gated out anyway, and it keeps the straddling blocks
    exact), go through the meter. The result is cached under a digest of every event's place
    and sound, so exporting the same guide again skips the passes.
    """
    digest = hashlib.sha256(f"calibrated in {CALIBRATION_PASSES} passes\n".encode())
    for e in timeline.events:
        digest.update(f"{e.start} {e.end} {sounds.key(e)}\n".encode())
    path = sounds._cache.parent / "loudness" / f"{digest.hexdigest()}.txt"
    try:
        loudness = float(path.read_text())
    except (OSError, ValueError):
        loudness = _calibrate(timeline, sounds)
        store(path, repr(loudness).encode())
    if math.isfinite(loudness):
        store(_lift_path(sounds), repr(loudness - sounds.loudness).encode())
    return _lifted(sounds, loudness - sounds.loudness)


def expected(sounds: Sounds) -> Sounds:
    """Sounds at the clip loudness the voice's last calibration of a whole guide found (at this
    rate, target and ceiling), for a session that starts before its every phrase is made;
    DEFAULT_LIFT when the voice was never calibrated."""
    import coach.sound.loudness  # noqa: F401  in the lead-in, not after the first phrase: 0.1 s

    try:
        lift = float(_lift_path(sounds).read_text())
    except (OSError, ValueError):
        lift = DEFAULT_LIFT
    return _lifted(sounds, lift if math.isfinite(lift) else DEFAULT_LIFT)


def _lifted(sounds: Sounds, lift: float) -> Sounds:
    if not math.isfinite(lift) or lift == 0:
        return sounds
    loudness = sounds.loudness + lift
    return Sounds(sounds.speech, sounds.cues, loudness, sounds.ceiling_dbtp, sounds.cache_dir)


def _lift_path(sounds: Sounds) -> Path:
    """Where the lift of the voice's last calibration is kept: per engine, voice, rate, target
    and ceiling (a guide's pauses and its mix of phrases move it by tenths of an LU)."""
    speech = sounds.speech
    recipe = [
        _normalizer_digest(), speech.engine, speech.voice, speech.rate,
        f"{sounds.loudness:.4f}", f"{sounds.ceiling_dbtp:.4f}",
    ]  # fmt: skip
    digest = hashlib.sha256(repr(recipe).encode()).hexdigest()
    return sounds._cache.parent / "loudness" / f"voice-{digest}.txt"


def _calibrate(timeline: Timeline, sounds: Sounds) -> float:
    """The clip loudness that makes the rendered timeline measure `sounds.loudness`."""
    loudness, trial = sounds.loudness, sounds
    for _ in range(CALIBRATION_PASSES):
        error = sounds.loudness - _measure(timeline, trial)
        trial._clips.clear()  # one set of clips in memory at a time (tens of MB a set)
        if not math.isfinite(error):
            return sounds.loudness  # nothing audible: nothing to calibrate
        loudness += error
        if abs(error) < 0.05:
            break
        trial = Sounds(sounds.speech, sounds.cues, loudness, sounds.ceiling_dbtp, sounds.cache_dir)
    return loudness


def _measure(timeline: Timeline, clip: ClipSource) -> float:
    """Integrated loudness of the rendered timeline, metering only where there is sound."""
    from coach.sound.loudness import LoudnessMeter

    meter = LoudnessMeter(timeline.sample_rate)
    after_silence = False
    for block in render(timeline, clip, block=timeline.sample_rate):
        silent = not block.any()
        if not (silent and after_silence):
            meter.add(block)
        after_silence = silent
    return meter.integrated()


def render(
    timeline: Timeline,
    clip: ClipSource,
    start: int = 0,
    end: int | None = None,
    block: int = BLOCK,
    music: Music | None = None,
) -> Iterator[np.ndarray]:
    """Yield float32 blocks that together cover samples [start, end) of the timeline exactly.

    `clip(event)` returns the event's sound as float32, exactly `event.length` samples long.
    Every block is `block` samples except possibly the last. With `music`, the music runs under
    the whole range, ducked around every event (from FADE before it starts to FADE after it
    ends, held through short gaps) and faded in and out at the guide's ends.
    """
    end = timeline.duration if end is None else end
    pending = [e for e in timeline.events if e.end > start and e.start < end]
    pending.sort(key=lambda e: e.start)
    spans = duck_spans(timeline.events) if music is not None else ()
    next_span = bisect.bisect_left(spans, start - FADE, key=lambda s: s[1])
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
        if music is not None:
            while next_span < len(spans) and spans[next_span][1] + FADE <= b0:
                next_span += 1
            last = bisect.bisect_left(spans, b1 + FADE, lo=next_span, key=lambda s: s[0])
            near = spans[next_span:last]
            out += music.read(b1 - b0) * bed_gain(near, b0, b1, timeline.duration)
        yield out


def to_pcm16(block: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as little-endian signed 16-bit PCM (clipped, never wrapped)."""
    return (np.clip(block, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
