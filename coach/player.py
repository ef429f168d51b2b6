"""`coach play`: the live, hands-free session, timed by the audio clock.

The session clock is the count of timeline samples handed to the sound device, not a timer:
one continuous output stream pulls blocks that `render()` streams into a short queue, so every
clip sounds at exactly its sample and nothing can drift (sleep-based timers drift: a 2 x 5 s
routine took 22.3 s). Pausing stops the count; seeking drops the queue and restarts the
renderer at the new sample; if rendering ever falls behind, the device gets silence and the
clock waits, so the timing of what follows is never broken.

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

from coach.controls import Action, Control, ControlUnavailable
from coach.errors import CoachError
from coach.keys import DEFAULT_KEYS, Keyboard
from coach.music import Music
from coach.render import ClipSource, render
from coach.status import StatusView
from coach.timeline import SAMPLE_RATE, Event, Timeline

# Device buffer: what still plays after a key press. 50 ms keeps controls well within 100 ms.
LATENCY = 0.05
# Rendered audio queued ahead of the device: absorbs a slow clip synthesis, and costs nothing
# on a seek (the queue is dropped, not played out).
AHEAD = SAMPLE_RATE // 2
BLOCK = SAMPLE_RATE // 20
# "back" goes to the previous step when pressed this soon after a step starts.
BACK_GRACE = 2 * SAMPLE_RATE
VOLUME_STEP_DB = 3.0
# Speech peaks at -1.5 dBTP (render.CEILING_DBTP): more than +1.5 dB would clip it. Louder than
# that is the system volume's job.
VOLUME_RANGE_DB = (-30.0, 1.5)
# The audio callback runs every few ms; this long without one means the device is gone.
DEVICE_SILENT_S = 1.0

NO_DEVICE = (
    "no audio output device found ({why}): connect one, or make an audio file with "
    "`coach export` and play that instead"
)


class Output(Protocol):
    def start(self, fill: Callable[[np.ndarray], None]) -> None: ...
    def stop(self, drain: bool) -> None: ...
    def alive(self) -> bool: ...


class SoundDeviceOutput:
    """One continuous mono float32 PortAudio stream; `fill(out)` supplies each buffer."""

    def __init__(self, rate: int = SAMPLE_RATE, latency: float = LATENCY) -> None:
        self.rate = rate
        self.latency = latency
        self.stream = None
        self.last_call = 0.0
        self.failed = False
        self._stderr: int | None = None

    def start(self, fill: Callable[[np.ndarray], None]) -> None:
        try:
            import sounddevice as sd
        except OSError as exc:  # PortAudio itself is missing
            raise CoachError(NO_DEVICE.format(why=f"PortAudio: {exc}")) from None

        def callback(outdata, frames, when, status) -> None:
            self.last_call = time.monotonic()
            fill(outdata[:, 0])

        def finished() -> None:
            self.failed = True

        self._mute_stderr()
        try:
            self.stream = sd.OutputStream(
                samplerate=self.rate,
                channels=1,
                dtype="float32",
                latency=self.latency,
                callback=callback,
                finished_callback=finished,
            )
            self.last_call = time.monotonic()
            self.stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            self._restore_stderr()
            raise CoachError(NO_DEVICE.format(why=str(exc).split("\n")[0])) from None

    def alive(self) -> bool:
        return not self.failed and time.monotonic() - self.last_call < DEVICE_SILENT_S

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
        self._feeder = threading.Thread(target=self._feed, name="coach-render", daemon=True)
        self._feeder.start()

    # -- audio thread -------------------------------------------------------------------
    def fill(self, out: np.ndarray) -> None:
        out.fill(0.0)
        with self._cond:
            if not self.paused:
                done = 0
                while done < len(out) and self._queue:
                    head = self._queue[0]
                    take = min(len(out) - done, len(head) - self._head)
                    out[done : done + take] = head[self._head : self._head + take]
                    done += take
                    self._head += take
                    if self._head == len(head):
                        self._queue.popleft()
                        self._head = 0
                self.position += done
                self._queued -= done
                if done:
                    self._cond.notify_all()
                if self._fed_all and not self._queue:
                    self.finished.set()
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
                blocks = render(self.timeline, self.clip, start, block=BLOCK, music=self.music)
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
        step = self.timeline.step_at(self.position)
        if self.position - step.start < BACK_GRACE and step.index > 1:
            step = self.timeline.steps[step.index - 2]
        self.seek(step.start)

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


def step_start(timeline: Timeline, step: int) -> int:
    if not 1 <= step <= len(timeline.steps):
        raise CoachError(
            f"--from-step {step} is out of range: this routine has steps 1 to {len(timeline.steps)}"
        )
    return timeline.steps[step - 1].start


def play(
    timeline: Timeline,
    clip: ClipSource,
    *,
    resume: str,
    from_step: int = 1,
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
        step = timeline.step_at(playback.position).index
        return f"To resume: {resume} --from-step {step}"

    # SIGTERM ends the session like q does, through the same clean-up.
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
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
                action = actions.get(timeout=0.02)
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
            view.update(timeline, playback.position, playback.paused, playback.volume_db)
        if playback.error is not None:
            raise playback.error
        view.update(timeline, timeline.duration, False, playback.volume_db)
        output.stop(drain=True)
        view.say("Session complete.")
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
