"""A live session's player: its own thread runs the session on an output, takes the controls'
actions off one queue, and tells subscribers of each change from one dispatcher thread.

Threads: the audio callback (`Playback.fill`, never kept waiting), the renderer (in
Playback), the player thread (actions, the device's health, the state), the dispatcher
(subscribers: a slow one delays neither the sound nor the controls), and each control's own.
A step's start reaches the player thread from the audio callback as a wake-up on the action
queue, when its first sample is handed to the device, not at the player's next look (100 ms).
Each state then waits in the dispatcher until the output's delay has passed (the device
buffer and the sound server's: 60-70 ms here), so subscribers hear of a step when its first
sound does, to within a device block (25 ms); they were told 70 ms early without the wait.
"""

from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from coach.errors import ControlUnavailable, DeviceGone
from coach.live.clock import Lag
from coach.live.controls import NOTE, Action, Control
from coach.live.output import Output, SoundDeviceOutput
from coach.timeline import Timeline

if TYPE_CHECKING:  # loaded on the player's thread: `import coach.session` stays without numpy
    from coach.live.making import Making
    from coach.live.own_sound import OwnSound
    from coach.live.playback import Playback
    from coach.sound.music import Music
    from coach.sound.render import ClipSource

# How often the player looks at the session when no action comes (an action or a step's
# start wakes it at once): the status shows whole seconds, so 10 times a second is plenty.
POLL = 0.1
STATUSES = ("starting", "playing", "paused", "finished", "stopped", "failed")
ENDINGS = ("finished", "stopped", "failed")
_WAKE = Action("wake")  # from the audio callback: a step began, or the session ended


@dataclass(frozen=True)
class State:
    """Where a live session is, at one moment. Times are seconds on the audio clock (what was
    handed to the device, up to its 50 ms buffer ahead of what is heard); `step` is the
    timeline's step index, as `coach preview --format json` numbers it (0: the pre-roll)."""

    status: str  # one of STATUSES
    step: int
    step_title: str
    position: float
    step_left: float
    session_left: float
    next_title: str | None  # None in the last step
    caught_up: float  # silence skipped to make up for stalls, in all
    volume_db: float
    sample: int  # `position` in samples
    lag: Lag = dataclasses.field(default_factory=Lag)  # keeping to the device clock, samples
    error: BaseException | None = None  # what failed, when status is "failed"
    unavailable: tuple[str, ...] = ()  # controls left out, each with why (no microphone)
    making: tuple[int, int] | None = None  # (made, to make) while phrases are still made
    held: bool = False  # waiting in silence at a step boundary for the phrases after it
    notes: tuple[str, ...] = ()  # what the controls had to say (what the voice heard), in order

    @property
    def key(self) -> tuple:
        """What a subscriber hears about: all but the clock running on."""
        lag = self.lag
        return (self.status, self.step, self.volume_db, lag.dropouts, lag.catch_ups,
                lag.behind > 0, self.unavailable, self.making, self.held,
                len(self.notes))  # fmt: skip


def snapshot(timeline: Timeline, sample: int, status: str, volume_db: float, lag: Lag) -> State:
    rate = timeline.sample_rate
    step = timeline.step_at(sample)
    k = timeline.steps.index(step)
    after = timeline.steps[k + 1].title if k + 1 < len(timeline.steps) else None
    return State(
        status=status,
        step=step.index,
        step_title=step.title,
        position=sample / rate,
        step_left=max(0, step.end - sample) / rate,
        session_left=max(0, timeline.duration - sample) / rate,
        next_title=after,
        caught_up=lag.caught_up / rate,
        volume_db=volume_db,
        sample=sample,
        lag=lag,
    )


Prepare = Callable[[], "tuple[ClipSource, Music | None]"]


class Player:
    """Plays `timeline` from sample `start` on `output` (None: the default sound device),
    steered by `controls` and by its own methods, from any thread.

    `prepare()` runs on the player's thread before the output starts and returns the clip
    source and the music bed (or None), which is closed at the end: making them may take a
    while (a loudness calibration), and `start()` returns at once. `making`: the phrases
    still being made (coach.live.making); the timeline grows as they arrive.
    """

    def __init__(
        self,
        timeline: Timeline,
        prepare: Prepare,
        *,
        start: int = 0,
        output: Output | None = None,
        controls: Sequence[Control] = (),
        making: Making | None = None,
    ) -> None:
        self.timeline = timeline
        self.making = making
        self.output = SoundDeviceOutput() if output is None else output
        self.controls = tuple(controls)
        self._prepare = prepare
        self._start = start
        self._actions: queue.SimpleQueue[Action] = queue.SimpleQueue()
        # States for the dispatcher, each with the monotonic time it becomes true to the ear.
        self._changes: queue.SimpleQueue[tuple[float, State] | None] = queue.SimpleQueue()
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()
        self._growing = threading.Lock()
        self._state = self._latest = snapshot(timeline, start, "starting", 0.0, Lag())
        self._done = threading.Event()
        self._unavailable: tuple[str, ...] = ()
        self._notes: tuple[str, ...] = ()
        self._failure: BaseException | None = None  # a subscriber's
        self._threads: list[threading.Thread] = []

    # -- watching -------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The latest state subscribers were given (what is heard now)."""
        with self._lock:
            return self._state

    def subscribe(self, callback: Callable[[State], None], every: float | None = None) -> None:
        """Call `callback(state)` at every change of status, step, volume or lag, and, with
        `every` (seconds), that often besides while the session runs (a clock display). It
        runs on the dispatcher thread; an exception in it stops the session as failed."""
        with self._lock:
            self._subscribers.append(_Subscriber(callback, every))

    def wait(self, timeout: float | None = None) -> str | None:
        """How the session ended ("finished", "stopped", "failed"), once subscribers have
        heard of it; None if `timeout` seconds pass first."""
        if not self._done.wait(timeout):
            return None
        return self.state.status

    # -- steering (any thread) --------------------------------------------------------------
    def start(self) -> None:
        """Begin in the background: the state goes "starting", then "playing" at the first
        sound handed to the device; returns at once."""
        if self._threads:
            raise RuntimeError("a live session starts once")
        for target, name in ((self._run, "coach-player"), (self._dispatch, "coach-dispatch")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def pause(self) -> None:
        self._actions.put(Action("hold"))

    def resume(self) -> None:
        self._actions.put(Action("resume"))

    def next(self) -> None:
        self._actions.put(Action("next"))

    def back(self) -> None:
        self._actions.put(Action("back"))

    def repeat(self) -> None:
        self._actions.put(Action("repeat"))

    def louder(self) -> None:
        self._actions.put(Action("louder"))

    def softer(self) -> None:
        self._actions.put(Action("softer"))

    def stop(self) -> None:
        """End the session now: the sound stops at once, the state becomes "stopped"."""
        self._actions.put(Action("quit"))

    # -- the player thread --------------------------------------------------------------------
    def _run(self) -> None:
        from coach.live.own_sound import OwnSound
        from coach.live.playback import Playback

        error = None
        try:
            with contextlib.ExitStack() as stack:
                clip, bed = self._prepare()
                if bed is not None:
                    stack.enter_context(bed)
                making = self.making
                playback = Playback(
                    self.timeline, clip, self._start, bed, wake=lambda: self._actions.put(_WAKE),
                    settled=0 if making else None,  # (_grown sets how far, at once)
                )  # fmt: skip
                stack.callback(playback.close)
                own = OwnSound(self.timeline, playback)
                if making is not None:
                    making.subscribe(lambda timeline, until: self._grown(playback, own))
                    self._grown(playback, own)  # what arrived before the subscription
                    threading.Thread(
                        target=self._when_ahead, args=(playback, own), daemon=True
                    ).start()
                # The controls before the output, which then starts alone: started after it,
                # the voice control's worker (an interpreter building two decoders, a second of
                # CPU) and input stream competed with the output's first buffers, and on a
                # loaded machine the session's first 0.5-1.1 s were lost.
                unavailable = []
                for control in self.controls:
                    try:
                        control.start(self._actions.put, own.sounding)
                        stack.callback(control.stop)
                    except ControlUnavailable as exc:
                        unavailable.append(str(exc))
                self._unavailable = tuple(unavailable)
                stack.callback(self.output.stop, False)
                self.output.start(playback.fill)
                self._publish(playback)
                ending = self._loop(playback, own)
                self._publish(playback, ending)
        except BaseException as exc:  # the state carries it to the front end
            error = exc
        finally:
            if self.making is not None:
                self.making.stop()
            error = error or self._failure
            if error is not None:
                state = dataclasses.replace(self._latest, status="failed", error=error)
                self._changes.put((time.monotonic(), state))
            self._changes.put(None)

    def _loop(self, playback: Playback, own: OwnSound) -> str:
        """Take actions until the session ends; how it ended."""
        while not playback.finished.is_set() and playback.error is None:
            try:
                action = self._actions.get(timeout=POLL)
            except queue.Empty:
                action = None
            if action is not None and action.name == NOTE:
                self._notes += (action.note,)
            elif action is not None and action is not _WAKE:
                if action.name == "quit":
                    self.output.stop(drain=False)
                    return "stopped"
                playback.act(action.name)
                own.acted(action.name)
                if action.acknowledge:
                    from coach.live.own_sound import ACK

                    own.hold(playback.mix_in(ACK))
            if not self.output.alive():
                self.output.stop(drain=False)
                raise DeviceGone()
            self._publish(playback)
        if playback.error is not None:
            raise playback.error
        self.output.stop(drain=True)
        return "finished"

    def _when_ahead(self, playback: Playback, own: OwnSound) -> None:
        """Hold in the lead-in until the synthesis keeps ahead, then play on."""
        self.making.wait_ahead(self._start)
        self._grown(playback, own)

    def _grown(self, playback: Playback, own: OwnSound) -> None:
        """More of the timeline is final (on the synthesis thread): play on into it."""
        making = self.making
        if making.error is not None:
            playback.fail(making.error)
            return
        with self._growing:  # from two threads: the later look at the making goes in last
            timeline, until = making.playable()
            self.timeline = timeline
            playback.extend(timeline, until)
            own.update(timeline)
        self._actions.put(_WAKE)

    def _publish(self, playback: Playback, ending: str | None = None) -> None:
        """The state now, for `state` and the dispatcher."""
        if ending == "finished":
            sample = self.timeline.duration
        else:
            sample = min(playback.position, self.timeline.duration)
        status = ending or ("paused" if playback.paused else "playing")
        state = snapshot(self.timeline, sample, status, playback.volume_db, playback.lag())
        making = self.making
        made = (making.done, making.total) if making and making.done < making.total else None
        state = dataclasses.replace(
            state,
            unavailable=self._unavailable,
            notes=self._notes,
            making=made,
            held=playback.held and not ending,
        )
        self._latest = state
        # What was handed over is heard later; at the end the sound is over (stopped at once,
        # or played out).
        later = 0.0 if ending else self.output.delay()
        self._changes.put((time.monotonic() + later, state))

    # -- the dispatcher thread ----------------------------------------------------------------
    def _dispatch(self) -> None:
        last: tuple | None = None
        while (item := self._changes.get()) is not None:
            due, state = item
            time.sleep(max(0.0, due - time.monotonic()))
            with self._lock:
                self._state = state
            changed, last = state.key != last, state.key
            now = time.monotonic()
            with self._lock:
                subscribers = list(self._subscribers)
            for sub in subscribers:
                if changed or (sub.every is not None and now - sub.last >= sub.every):
                    sub.last = now
                    try:
                        sub.callback(state)
                    except Exception as exc:  # the session fails with it
                        self._failure = self._failure or exc
                        self.stop()
        self._done.set()


@dataclass
class _Subscriber:
    callback: Callable[[State], None]
    every: float | None
    last: float = 0.0
