"""What feeds the device during a live session: the session clock, the renderer running ahead
of it, and the controls acting on it (seek, pause, repeat, volume).

The session clock follows the sound device's clock, not a timer: one continuous output stream
pulls blocks that `render()` streams into a short queue, so every clip sounds at exactly its
sample and nothing can drift (sleep-based timers drift: a 2 x 5 s routine took 22.3 s). Pausing
stops the clock; seeking drops the queue and restarts the renderer at the new sample.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from collections.abc import Callable

import numpy as np

from coach.errors import StepOutOfRange
from coach.live.clock import Gaps, Lag
from coach.sound.music import FADE, Music
from coach.sound.render import ClipSource, render
from coach.timeline import SAMPLE_RATE, Event, Timeline

# Catching up after a dropout inside a sound never shortens the pause after it below this, so
# phrases don't run together. A dropout in a pause has lengthened that pause already: the rest
# of it may go, down to the next sound.
KEEP_GAP = SAMPLE_RATE // 4
# Rendered audio queued ahead of the device: absorbs a slow clip synthesis, and costs nothing
# on a seek (the queue is dropped, not played out).
AHEAD = SAMPLE_RATE // 2
# "back" goes to the previous step when pressed this soon after a step starts.
BACK_GRACE = 2 * SAMPLE_RATE
VOLUME_STEP_DB = 3.0
# Speech peaks at -1.5 dBTP (render.CEILING_DBTP): more than +1.5 dB would clip it. Louder than
# that is the system volume's job.
VOLUME_RANGE_DB = (-30.0, 1.5)


class Playback:
    """The session clock and what feeds the device: thread-safe, device-independent.

    `fill()` runs on the audio thread; a feeder thread renders ahead into a queue; the
    controls (`seek`, `pause`, `repeat`, volume) come from the session's thread. `wake()` is
    called on the audio thread when a step begins or the session ends, so it must only wake
    a thread (a queue put): the session learns of a step at once, not at its next look.
    """

    def __init__(
        self,
        timeline: Timeline,
        clip: ClipSource,
        start: int = 0,
        music: Music | None = None,
        wake: Callable[[], None] | None = None,
        settled: int | None = None,
    ) -> None:
        self.timeline = timeline
        # Rendered and played only up to here while the rest of its phrases are made
        # (coach.live.making): the session holds there in silence, as a pause would.
        self.settled = timeline.duration if settled is None else settled
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
        self._wake = wake
        self._step_end = timeline.step_at(start).end  # where the step handed over now ends
        self._feeder = threading.Thread(target=self._feed, name="coach-render", daemon=True)
        self._feeder.start()

    # -- audio thread -------------------------------------------------------------------
    def fill(self, out: np.ndarray, late: int = 0) -> None:
        """Write the next `len(out)` samples for the device. `late`: silence the device played
        since the last call that it was never handed, by which the session is now behind."""
        out.fill(0.0)
        with self._cond:
            if not self.paused:
                if not self.held:  # silence while holding only holds a little longer
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
                if self._fed_all and not self._queue and self.settled >= self.timeline.duration:
                    self.finished.set()
                elif done < len(out) and not self.held:  # the renderer fell behind
                    self._fall_behind(len(out) - done)
                self._step_began()
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

    def _step_began(self) -> None:
        """Wake the session when the hand-over passed into a new step or the end."""
        if self.position < self._step_end and not self.finished.is_set():
            return
        if self.position < self.timeline.duration:
            self._step_end = self.timeline.step_at(self.position).end
        else:
            self._step_end = self.timeline.duration + 1  # the end: said once
        if self._wake is not None:
            self._wake()

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

    @property
    def held(self) -> bool:
        """Waiting at the settled sample for the phrases after it: the clock stands still."""
        return self.position >= self.settled < self.timeline.duration

    def fail(self, error: BaseException) -> None:
        """End the session with `error` (the phrases still missing could not be made)."""
        with self._cond:
            self.error = self.error or error
            self.finished.set()

    def extend(self, timeline: Timeline, settled: int) -> None:
        """A timeline that is final up to `settled`, the same as the one playing before its
        settled sample: rendering goes on from what is queued, with the new events."""
        with self._cond:
            if self.error is not None:
                return
            if self.held:  # the clock stood still: waiting for the renderer now is no loss
                self._sounding = False
            self.timeline, self.settled = timeline, settled
            reach = FADE if self.music is not None else 0
            self._gaps = Gaps(timeline, KEEP_GAP, reach)
            self._pause = Gaps(timeline, 0, reach)
            self._step_end = timeline.step_at(self.position).end
            self._generation += 1
            self._feed_from = self.position + self._queued
            self._fed_all = False
            self._cond.notify_all()

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
                    timeline, end = self.timeline, self.settled
                blocks = render(timeline, self.clip, start, end, music=self.music)
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
            self._step_end = self.timeline.step_at(position).end
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

    def act(self, action: str) -> None:
        """Do what a control asked for (coach.live.controls.ACTIONS, but "quit")."""
        if action in ("hold", "resume") and self.paused == (action == "hold"):
            return  # already as asked
        {
            "pause": self.toggle_pause,
            "hold": self.toggle_pause,
            "resume": self.toggle_pause,
            "next": self.next_step,
            "back": self.back,
            "repeat": self.repeat,
            "louder": self.louder,
            "softer": lambda: self.louder(-VOLUME_STEP_DB),
        }[action]()

    def mix_in(self, sound: np.ndarray) -> int:
        """Mix `sound` in from now, over whatever plays (paused or not); returns its length.
        Anything already mixed in (a repeat) goes on under it."""
        with self._cond:
            rest = self._overlay
            if rest is not None:
                rest = rest[self._overlay_at :].copy()
                rest[: len(sound)] += sound[: len(rest)]
                longer = len(rest) >= len(sound)
                sound = rest if longer else np.concatenate([rest, sound[len(rest) :]])
            self._overlay, self._overlay_at = sound, 0
        return len(sound)

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
        raise StepOutOfRange(step, len(massage))
    return massage[step - 1].start


def resume_step(timeline: Timeline, position: int) -> int | None:
    """The routine step to resume at from `position`: None in the pre-roll (start over), the
    last step once the massage is over."""
    if position < timeline.massage_start:
        return None
    massage = timeline.massage_steps()
    return min(timeline.step_at(position), massage[-1], key=lambda s: s.start).index
