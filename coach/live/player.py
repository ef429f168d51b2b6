"""`coach play`: the live, hands-free session, timed by the audio clock.

The session clock follows the sound device's clock, not a timer: one continuous output stream
pulls blocks that `render()` streams into a short queue, so every clip sounds at exactly its
sample and nothing can drift (sleep-based timers drift: a 2 x 5 s routine took 22.3 s). Pausing
stops the clock; seeking drops the queue and restarts the renderer at the new sample.

When the machine stalls the player for longer than the device buffer (50 ms), the device plays
silence it was never given (an underrun), and so does a renderer that falls behind. Counting
only the samples handed over would then make every later sound late by the stall, for good
(a 1 s SIGSTOP: +946 ms to the end of the session). So the player counts that silence as time
played, and catches up by skipping silence on the timeline, never sound: a phrase cut by a
stall finishes whole, and the skip waits for the next gap, which keeps at least `KEEP_GAP`;
a stall in a pause is made up in the rest of that pause. Audio is never sped up.

Backend: sounddevice (PortAudio) callback stream. Not simpleaudio: 1.0.4 segfaults on
Python 3.12 and 3.13 (its repository is archived), and it plays whole buffers, with no clock to
schedule against. Another backend only needs `start(fill)`, `stop(drain)` and `alive()`.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol, TextIO

import numpy as np

from coach.errors import CoachError, NoDeviceError
from coach.live.controls import Action, Control, ControlUnavailable
from coach.live.keys import DEFAULT_KEYS, Keyboard
from coach.live.status import StatusView, lag_summary
from coach.sound.music import FADE, Music
from coach.sound.render import ClipSource, render
from coach.timeline import SAMPLE_RATE, Event, Timeline

# Device buffer: what still plays after a key press. 50 ms keeps controls well within 100 ms.
LATENCY = 0.05
# Samples per device callback: 25 ms keeps the 50 ms latency and wakes the process half as
# often as PortAudio's own choice of 12.5 ms (a bare stream: 1.0 % of a core instead of 2.8 %).
DEVICE_BLOCK = SAMPLE_RATE // 40
# A lost stretch counts once two stamps in a row show it past this: the stamps jitter by under
# half a millisecond here (10 samples).
TOLERANCE = SAMPLE_RATE // 500
# How fast the stamps' reference may sink: a device crystal runs up to ~50 ppm off the system
# clock. Faster sinking would let jitter ratchet the session ahead of the device.
DRIFT = 1e-4
# Catching up after a dropout inside a sound never shortens the pause after it below this, so
# phrases don't run together. A dropout in a pause has lengthened that pause already: the rest
# of it may go, down to the next sound.
KEEP_GAP = SAMPLE_RATE // 4
# Rendered audio queued ahead of the device: absorbs a slow clip synthesis, and costs nothing
# on a seek (the queue is dropped, not played out).
AHEAD = SAMPLE_RATE // 2
# How often the main loop looks at the session when no key comes (a key wakes it at once):
# the status shows whole seconds, so 10 times a second is plenty.
POLL = 0.1
# "back" goes to the previous step when pressed this soon after a step starts.
BACK_GRACE = 2 * SAMPLE_RATE
VOLUME_STEP_DB = 3.0
# Speech peaks at -1.5 dBTP (render.CEILING_DBTP): more than +1.5 dB would clip it. Louder than
# that is the system volume's job.
VOLUME_RANGE_DB = (-30.0, 1.5)
# The audio callback runs every few ms; this long without one means the device is gone.
DEVICE_SILENT_S = 1.0


class Output(Protocol):
    """Calls `fill(out, late)` for each buffer; `late` is the silence (samples) the device
    played since the last call that it was never handed (an underrun), or 0."""

    def start(self, fill: Callable[[np.ndarray, int], None]) -> None: ...
    def stop(self, drain: bool) -> None: ...
    def alive(self) -> bool: ...


class SoundDeviceOutput:
    """One continuous mono float32 PortAudio stream; `fill(out)` supplies each buffer."""

    def __init__(self, rate: int = SAMPLE_RATE, latency: float = LATENCY) -> None:
        self.rate = rate
        self.latency = latency
        self.stream = None
        self.last_call = 0.0
        self._checked = 0.0  # when `alive()` last looked
        self._resumed = 0.0  # when it last found its own process had been stalled
        self.failed = False
        self._stderr: int | None = None

    def check(self) -> None:
        """Raise NoDeviceError now if there is no device to play on: before a routine's
        phrases are synthesized (tens of seconds on a cold cache), not after."""
        sd = self._sounddevice()
        self._mute_stderr()  # PortAudio's ALSA probing prints C-level noise there
        try:
            sd.check_output_settings(samplerate=self.rate, channels=1, dtype="float32")
        except (sd.PortAudioError, ValueError) as exc:
            raise NoDeviceError(str(exc).split("\n")[0]) from None
        finally:
            self._restore_stderr()

    @staticmethod
    def _sounddevice():
        try:
            import sounddevice as sd
        except OSError:  # PortAudio itself is missing: sounddevice bundles it only off Linux
            raise CoachError(
                "live play needs the PortAudio library: install it (Debian/Ubuntu: libportaudio2, "
                "Fedora: portaudio); export and preview work without it"
            ) from None
        return sd

    def start(self, fill: Callable[[np.ndarray, int], None]) -> None:
        sd = self._sounddevice()
        clock = DeviceClock(self.rate, self.latency)

        def callback(outdata, frames, when, status) -> None:
            self.last_call = time.monotonic()
            late = clock.late(frames, when.currentTime, when.outputBufferDacTime)
            fill(outdata[:, 0], late)

        def finished() -> None:
            self.failed = True

        self._mute_stderr()
        try:
            self.stream = sd.OutputStream(
                samplerate=self.rate,
                channels=1,
                dtype="float32",
                latency=self.latency,
                blocksize=DEVICE_BLOCK,
                callback=callback,
                finished_callback=finished,
            )
            self.last_call = time.monotonic()
            self.stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._restore_stderr()
            raise NoDeviceError(str(exc).split("\n")[0]) from None

    def alive(self) -> bool:
        """Whether the device still asks for audio. A stalled process (SIGSTOP, a busy machine)
        stops the callback and this check alike: after a gap between two checks, the device
        gets a full DEVICE_SILENT_S to call again, or it would be taken for gone as soon as the
        process ran again (seen after a 1 s SIGSTOP, when the check ran before the callback)."""
        now = time.monotonic()
        if now - self._checked > DEVICE_SILENT_S / 2:
            self._resumed = now
        self._checked = now
        since = now - max(self.last_call, self._resumed)
        return not self.failed and since < DEVICE_SILENT_S

    def stop(self, drain: bool) -> None:
        """Stop: `drain` lets the device play out its buffer, otherwise sound stops at once."""
        if self.stream is None:
            return
        stream, self.stream = self.stream, None
        try:
            stream.stop() if drain else stream.abort()
            stream.close()
        except Exception:  # a vanished device cannot be stopped any further
            pass
        self._restore_stderr()

    # PortAudio's ALSA layer writes C-level diagnostics straight to fd 2 when a device fails
    # ("Expression '...' failed in pa_linux_alsa.c"); the user gets our one line instead.
    def _mute_stderr(self) -> None:
        sys.stderr.flush()
        self._stderr = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def _restore_stderr(self) -> None:
        if self._stderr is not None:
            os.dup2(self._stderr, 2)
            os.close(self._stderr)
            self._stderr = None


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


class Playback:
    """The session clock and what feeds the device: thread-safe, device-independent.

    `fill()` runs on the audio thread; a feeder thread renders ahead into a queue; the
    controls (`seek`, `pause`, `repeat`, volume) come from the main thread.
    """

    def __init__(
        self, timeline: Timeline, clip: ClipSource, start: int = 0, music: Music | None = None
    ) -> None:
        self.timeline = timeline
        self.clip = clip
        self.music = music  # looped under everything; a seek simply carries on with it
        self.position = start  # the next timeline sample to hand to the device
        self.paused = False
        self.volume_db = 0.0
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._cond = threading.Condition()
        self._queue: deque[np.ndarray] = deque()
        self._head = 0  # samples of _queue[0] already played
        self._queued = 0
        self._generation = 0
        self._feed_from = start
        self._fed_all = False
        self._overlay: np.ndarray | None = None  # "repeat": mixed in from now, outside time
        self._overlay_at = 0
        self._closed = False
        reach = FADE if music is not None else 0
        self._gaps = Gaps(timeline, KEEP_GAP, reach)
        self._pause = Gaps(timeline, 0, reach)
        self._lag = Lag()
        self._fell_at = 0  # where the session was when it last fell behind
        self._sounding = False  # the device has had sound since the start or the last seek
        self._feeder = threading.Thread(target=self._feed, name="coach-render", daemon=True)
        self._feeder.start()

    # -- audio thread -------------------------------------------------------------------
    def fill(self, out: np.ndarray, late: int = 0) -> None:
        """Write the next `len(out)` samples for the device. `late`: silence the device played
        since the last call that it was never handed, by which the session is now behind."""
        out.fill(0.0)
        with self._cond:
            if not self.paused:
                self._fall_behind(late)
                done = 0
                while done < len(out) and self._queue:
                    head = self._queue[0]
                    room = len(head) - self._head
                    behind = self._lag.behind
                    gaps = self._gaps_now()
                    quiet = gaps.quiet(self.position) if behind else 0
                    # Never skip what this buffer still needs: the renderer refills later.
                    spare = self._queued - (len(out) - done)
                    skip = max(0, min(behind, room, quiet, spare))
                    if skip:
                        self._lag = dataclasses.replace(
                            self._lag, behind=behind - skip, caught_up=self._lag.caught_up + skip,
                            catch_ups=self._lag.catch_ups + (skip == behind),
                        )  # fmt: skip
                        self._advance(skip)
                        continue
                    take = min(len(out) - done, room)
                    if behind:  # stop where the sound (or the pause) ends, to look again
                        take = min(take, gaps.sounding(self.position) or quiet)
                    out[done : done + take] = head[self._head : self._head + take]
                    done += take
                    self._advance(take)
                self._sounding = self._sounding or done > 0
                if self._fed_all and not self._queue:
                    self.finished.set()
                elif done < len(out):  # the renderer fell behind: the device gets silence
                    self._fall_behind(len(out) - done)
            if self._overlay is not None:
                part = self._overlay[self._overlay_at : self._overlay_at + len(out)]
                out[: len(part)] += part
                self._overlay_at += len(part)
                if self._overlay_at >= len(self._overlay):
                    self._overlay = None
            gain = 10.0 ** (self.volume_db / 20.0)
        if gain != 1.0:
            out *= gain
        np.clip(out, -1.0, 1.0, out=out)

    def _advance(self, n: int) -> None:
        """Move the clock on by `n` samples taken from the queue (played or skipped)."""
        while n:
            head = self._queue[0]
            step = min(n, len(head) - self._head)
            self._head += step
            n -= step
            if self._head == len(head):
                self._queue.popleft()
                self._head = 0
            self.position += step
            self._queued -= step
        # The renderer tops the queue up once it is half empty: woken at every callback (40 a
        # second) its thread took 0.35 % of a core, in bursts 0.0 %.
        if self._queued < AHEAD // 2:
            self._cond.notify_all()

    def _gaps_now(self) -> Gaps:
        """The pause the session fell behind in may be skipped whole; later ones keep some."""
        in_that_pause = self._pause.quiet(self._fell_at) > self.position - self._fell_at
        return self._pause if in_that_pause else self._gaps

    def _fall_behind(self, samples: int) -> None:
        """The device played `samples` of silence the session did not schedule. Before the
        first sound (start-up, a seek) that is no loss: the session has not started yet."""
        if samples <= 0 or not self._sounding:
            return
        lag = self._lag
        if not lag.behind:
            self._fell_at = self.position
        self._lag = dataclasses.replace(
            lag, behind=lag.behind + samples, dropouts=lag.dropouts + (lag.behind == 0)
        )

    def lag(self) -> Lag:
        with self._cond:
            return self._lag

    # -- feeder thread ------------------------------------------------------------------
    def _feed(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._closed and self._fed_all:
                        self._cond.wait()
                    if self._closed:
                        return
                    generation, start = self._generation, self._feed_from
                blocks = render(self.timeline, self.clip, start, music=self.music)
                for block in blocks:
                    with self._cond:
                        while (
                            not self._closed
                            and generation == self._generation
                            and self._queued >= AHEAD
                        ):
                            self._cond.wait()
                        if self._closed or generation != self._generation:
                            break
                        self._queue.append(block)
                        self._queued += len(block)
                else:
                    with self._cond:
                        if generation == self._generation:
                            self._fed_all = True
        except BaseException as exc:  # reported by the main thread
            with self._cond:
                self.error = exc
                self.finished.set()

    # -- controls (main thread) ---------------------------------------------------------
    def seek(self, position: int) -> None:
        """Play from `position` on: queued audio is dropped, the renderer restarts there.

        A repeat still sounding stops too: it belongs to the step being left. After a render
        error nothing restarts: the session stays finished so the error is shown.
        """
        position = max(0, min(position, self.timeline.duration))
        with self._cond:
            if self.error is not None:
                return
            self._generation += 1
            self._queue.clear()
            self._head = self._queued = 0
            self.position = self._feed_from = position
            self._fed_all = False
            # A seek sets the clock anew: the time to make up was the old position's.
            self._lag = dataclasses.replace(self._lag, behind=0)
            self._sounding = False
            self._overlay = None
            self.finished.clear()
            self._cond.notify_all()

    def toggle_pause(self) -> None:
        with self._cond:
            self.paused = not self.paused

    def next_step(self) -> None:
        step = self.timeline.step_at(self.position)
        self.seek(step.end)  # the last step's end is the session's end

    def back(self) -> None:
        steps = self.timeline.steps
        k = steps.index(self.timeline.step_at(self.position))
        if self.position - steps[k].start < BACK_GRACE and k > 0:
            k -= 1
        self.seek(steps[k].start)

    def repeat(self) -> None:
        """Say the step's whole instruction again, now, over whatever is playing."""
        events = instruction(self.timeline, self.timeline.step_at(self.position).index)
        if not events:
            return
        # Rendered from the timeline so the sentences keep their gaps, and nothing else sounds.
        only = dataclasses.replace(self.timeline, events=events)
        start, end = events[0].start, max(e.end for e in events)
        sound = np.concatenate(list(render(only, self.clip, start, end, block=end - start)))
        with self._cond:
            self._overlay, self._overlay_at = sound, 0

    def louder(self, db: float = VOLUME_STEP_DB) -> None:
        lo, hi = VOLUME_RANGE_DB
        with self._cond:
            self.volume_db = min(hi, max(lo, self.volume_db + db))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._feeder.join(2)


def instruction(timeline: Timeline, step: int) -> tuple[Event, ...]:
    """The step's instruction: its events with role "instruction" (one per sentence, in
    order), else its first speech; empty when the step says nothing."""
    speech = [e for e in timeline.events if e.step == step and e.kind == "speech"]
    said = tuple(e for e in speech if e.role == "instruction")
    return said or tuple(speech[:1])


def step_start(timeline: Timeline, step: int | None) -> int:
    """Where playing starts: the very beginning (pre-roll included), or the routine's step
    `step` (numbered as in the routine file, 1..n)."""
    if step is None:
        return 0
    massage = timeline.massage_steps()
    if not 1 <= step <= len(massage):
        raise CoachError(
            f"--from-step {step} is out of range: this routine has steps 1 to {len(massage)}"
        )
    return massage[step - 1].start


def resume_step(timeline: Timeline, position: int) -> int | None:
    """The routine step to resume at from `position`: None in the pre-roll (start over), the
    last step once the massage is over."""
    if position < timeline.massage_start:
        return None
    massage = timeline.massage_steps()
    return min(timeline.step_at(position), massage[-1], key=lambda s: s.start).index


def play(
    timeline: Timeline,
    clip: ClipSource,
    *,
    resume: str,
    from_step: int | None = None,
    keymap: dict[str, str] | None = None,
    use_keys: bool = True,
    controls: Sequence[Control] | None = None,
    out: TextIO | None = None,
    output: Output | None = None,
    music: Music | None = None,
) -> int:
    """Play the session live; returns the exit code (0 done or quit, 130 Ctrl-C).

    `controls` steer it (default: the keyboard, with `keymap` unless `use_keys` is off); each
    puts actions on one queue that this loop reads. A control that cannot run (no microphone)
    is left out after one line. `resume` is the command that plays this session again
    (without --from-step), for the hint printed when the session is stopped early.
    """
    out = sys.stdout if out is None else out
    output = SoundDeviceOutput() if output is None else output
    start = step_start(timeline, from_step)
    if controls is None:
        controls = [Keyboard(keymap or DEFAULT_KEYS, enabled=use_keys)]
    view = StatusView(out, "  ".join(c.help for c in controls if c.help))
    playback = Playback(timeline, clip, start, music)
    actions: queue.SimpleQueue[Action] = queue.SimpleQueue()
    own = OwnSound(timeline, playback)

    def hint() -> str:
        step = resume_step(timeline, playback.position)
        return f"To resume: {resume}" + ("" if step is None else f" --from-step {step}")

    # SIGTERM ends the session like q does, through the same clean-up. Only the main thread
    # may set a handler (elsewhere signal.signal raises ValueError); SIGTERM then stays as is.
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143)) if on_main else None
    running: list[Control] = []
    try:
        output.start(playback.fill)
        # After the output: its guard on stderr also hides PortAudio's C-level noise when a
        # microphone fails to open; the user gets the control's one line instead.
        for control in controls:
            try:
                control.start(actions.put, own.sounding)
                running.append(control)
            except ControlUnavailable as exc:
                view.say(str(exc))
        while not playback.finished.is_set() and playback.error is None:
            try:
                action = actions.get(timeout=POLL)
            except queue.Empty:
                action = None
            if action is not None:
                if action.name == "quit":
                    output.stop(drain=False)
                    view.say(f"Stopped. {hint()}")
                    return 0
                act(playback, action.name)
                own.acted(action.name)
                if action.acknowledge:
                    own.hold(overlay(playback, ACK))
            if not output.alive():
                output.stop(drain=False)
                raise CoachError(f"the audio output device went away. {hint()}")
            view.update(timeline, playback.position, playback.paused, playback.volume_db,
                        playback.lag())  # fmt: skip
        if playback.error is not None:
            raise playback.error
        view.update(timeline, timeline.duration, False, playback.volume_db, playback.lag())
        output.stop(drain=True)
        view.say(f"Session complete.{lag_summary(playback.lag(), timeline.sample_rate)}")
        return 0
    except KeyboardInterrupt:
        output.stop(drain=False)
        view.say(f"Stopped. {hint()}")
        return 130
    finally:
        for control in running:
            control.stop()
        output.stop(drain=False)
        playback.close()
        if on_main:
            signal.signal(signal.SIGTERM, previous)


def act(playback: Playback, action: str) -> None:
    if action in ("hold", "resume") and playback.paused == (action == "hold"):
        return  # already as asked
    {
        "pause": playback.toggle_pause,
        "hold": playback.toggle_pause,
        "resume": playback.toggle_pause,
        "next": playback.next_step,
        "back": playback.back,
        "repeat": playback.repeat,
        "louder": playback.louder,
        "softer": lambda: playback.louder(-VOLUME_STEP_DB),
    }[action]()


def overlay(playback: Playback, sound: np.ndarray) -> int:
    """Mix `sound` in from now, over whatever plays (paused or not); returns its length.
    Anything already overlaid (a repeat) goes on under it."""
    with playback._cond:
        rest = playback._overlay
        if rest is not None:
            rest = rest[playback._overlay_at :].copy()
            rest[: len(sound)] += sound[: len(rest)]
            sound = rest if len(rest) >= len(sound) else np.concatenate([rest, sound[len(rest) :]])
        playback._overlay, playback._overlay_at = sound, 0
    return len(sound)


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
        self.timeline = timeline
        self.playback = playback
        spans = sorted((e.start, e.end) for e in timeline.events if e.role != "tick")
        self._starts = [a for a, _ in spans]
        # The furthest end among spans starting at or before each one: overlaps merge.
        self._reach = list(itertools.accumulate((b for _, b in spans), max))
        self._until = 0.0  # monotonic time until which an overlay sounds

    def sounding(self) -> bool:
        if time.monotonic() < self._until:
            return True
        if self.playback.paused:
            return False
        i = bisect.bisect_right(self._starts, self.playback.position) - 1
        return i >= 0 and self._reach[i] > self.playback.position

    def hold(self, samples: int) -> None:
        """Something `samples` long was mixed in just now."""
        self._until = max(self._until, time.monotonic() + samples / SAMPLE_RATE)

    def acted(self, action: str) -> None:
        if action == "repeat":
            said = instruction(self.timeline, self.timeline.step_at(self.playback.position).index)
            if said:
                self.hold(max(e.end for e in said) - said[0].start)
