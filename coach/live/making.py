"""A session played while its phrases are made: the missing phrases are synthesized on a thread
of their own in the order the session needs them, and the timeline is compiled again as they
arrive (coach.script.arrival says how much of it is final: `settled`).

What was settled never moves: every new timeline is checked against the last one up to its
settled sample, and a difference fails the session (`SettledMoved`): it would be a bug in the
compiler's causality, which tests/test_arrival.py proves on every built-in.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping

from coach.errors import RoutineError
from coach.script.arrival import Order, needed_at, settled
from coach.timeline import SAMPLE_RATE, Timeline

# Played phrases must be made this long before their deadline: the renderer runs half a second
# ahead of the device, and the estimate of the synthesis speed is rough at the start.
MARGIN = 1.5
# The speed estimate leaves out the first phrase, which carries the model's load (1.8 s of the
# first step's 3.0 s with the neural voice), once this many more have come.
STEADY = 2

Compile = Callable[[Mapping[str, int]], "tuple[Timeline, int]"]
Unfit = Callable[[RoutineError], BaseException]
Update = Callable[[Timeline, int], None]


class SettledMoved(RuntimeError):
    """A compile with more phrases made moved an event that was already settled (a bug)."""


class _Stopped(Exception):
    """The session ended before its phrases were all made: the synthesis stops."""


class Making:
    """The phrases of `order` (coach.script.arrival.Order) that `speech` has not made yet,
    made in that order (`start()`), with the timeline `compile(known lengths)` gives and its
    settled sample kept up to date. When the lengths made do not fit (a RoutineError from
    `compile`), the synthesis stops and `error` is what `unfit(that error)` makes of it."""

    def __init__(
        self, speech, order: Order, compile: Compile, unfit: Unfit = lambda error: error
    ) -> None:
        texts = order.texts()
        self.speech = speech
        self.order = order
        self.known = dict(speech.made(texts))
        self.missing = [t for t in texts if t not in self.known]
        self.total = len(self.missing)
        self.done = 0
        self._compile = compile
        self._unfit = unfit
        self.now = compile(self.known)  # (timeline, settled): swapped whole, read whole
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self._arrived = threading.Condition()
        self._times: list[float] = []
        self._began = 0.0
        self._listeners: list[Update] = []
        self._stopped = False
        self.ahead = threading.Event()  # set once playing can keep ahead of the synthesis
        if not self.missing:
            self.finished.set()

    def subscribe(self, update: Update) -> None:
        """`update(timeline, settled)` at each advance of the settled part (on the synthesis
        thread)."""
        self._listeners.append(update)

    def start(self) -> None:
        """Start making, on a thread of its own, and return at once: the player's threads may
        start meanwhile, since the neural voice's workers do not fork this process (they come
        from a fork server, coach.sound.piper)."""
        if self.finished.is_set():
            return
        self._began = time.monotonic()
        threading.Thread(target=self._run, name="coach-making", daemon=True).start()

    def stop(self) -> None:
        """Make no more phrases (the session ended): the engine's workers stop after the
        phrase each is making, so leaving does not wait for the rest."""
        with self._arrived:
            self._stopped = True
            self._arrived.notify_all()

    def _run(self) -> None:
        try:
            try:
                self.speech.progress = self._made
                self.speech.lengths(self.missing)
            finally:
                self.speech.progress = None
        except _Stopped:
            pass
        except RoutineError as exc:  # out of the engine's call: `unfit` may make phrases
            self.error = self._explained(exc)
        except BaseException as exc:  # the player fails the session with it
            self.error = exc
        finally:
            with self._arrived:
                self.finished.set()
                self._arrived.notify_all()
            for update in self._listeners:
                update(*self.now)

    def _explained(self, error: RoutineError) -> BaseException:
        try:
            return self._unfit(error)
        except BaseException as exc:  # (a speech failure, say): the session fails with it
            return exc

    def _made(self, done: int, total: int) -> None:
        if self._stopped:
            raise _Stopped
        text = self.missing[done - 1]
        self.known[text] = self.speech.made([text])[text]
        with self._arrived:
            self.done = done
            self._times.append(time.monotonic())
            self._arrived.notify_all()
        self._advance(done == total)

    def _advance(self, last: bool) -> None:
        """Compile again when the settled part can grow; check that nothing settled moved."""
        # The settled part only grows when a whole group is made: mostly nothing to compile.
        was, before = self.now
        if not last and settled(was, self.order, self.known) == before:
            return
        timeline, until = self._compile(self.known)
        old = [e for e in was.events if e.start < before]
        new = [e for e in timeline.events if e.start < before]
        if new != old or until < before:
            raise SettledMoved(f"a settled event moved before sample {before}")
        self.now = timeline, until
        for update in self._listeners:
            update(timeline, until)

    # -- before playing: can synthesis keep ahead? --------------------------------------------
    def wait_ahead(self, start: int = 0) -> None:
        """Return once playing from sample `start` can keep ahead of the synthesis at the speed
        measured so far (or everything is made, or the session ended), and set `ahead`."""
        with self._arrived:
            while not self.finished.is_set() and not self._stopped:
                wait = self.behind(start)
                if wait <= 0:
                    break
                self._arrived.wait(min(wait, 0.5) if math.isfinite(wait) else 0.5)
        self.ahead.set()

    @property
    def timeline(self) -> Timeline:
        return self.now[0]

    @property
    def settled(self) -> int:
        return self.now[1]

    def playable(self) -> tuple[Timeline, int]:
        """The timeline and where playing may go in it now: the settled sample, or, until
        synthesis keeps ahead, the first sound (the lead-in plays meanwhile: a Bluetooth
        device wakes up in it)."""
        timeline, until = self.now
        return timeline, until if self.ahead.is_set() else min(until, timeline.events[0].start)

    def behind(self, start: int = 0) -> float:
        """Seconds playing from `start` would run out of phrases, at the speed so far (inf
        before any is made)."""
        if self.done >= self.total:
            return 0.0
        if not self._times:
            return math.inf
        now = time.monotonic()
        rates = [len(self._times) / (now - self._began)]
        if len(self._times) > STEADY:
            rates.append((len(self._times) - 1) / max(now - self._times[0], 1e-3))
        per = 1 / max(rates)
        timeline = self.timeline
        deadlines = needed_at(timeline, self.order)
        worst = -math.inf
        for k, text in enumerate(self.missing[self.done :], 1):
            due = (deadlines.get(text, timeline.duration) - start) / SAMPLE_RATE
            worst = max(worst, k * per + MARGIN - due)
        return worst
