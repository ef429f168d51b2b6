"""The voice control: the default microphone's frames, stamped with whether the coach is
sounding, into a worker process that hears them (`coach.live.hearing`, run by
coach/live/__main__.py), and its commands and lines of what it heard back onto the player's
action queue.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable

from coach.errors import ControlUnavailable, RecognizerMissing
from coach.live.controls import NOTE, Action
from coach.live.hearing import FRAME, RATE
from coach.live.output import muted_stderr


class Listener:
    """A control that listens on the default microphone and puts the commands it hears on the
    queue, each acknowledged with a soft tone.

    The microphone's callback only stamps each frame with whether the coach is sounding; the
    hearing runs in a process of its own, because pocketsphinx holds the interpreter while it
    decodes (a 1 ms ticker thread starved for 100 ms), which made the audio callback late and
    moved the coach's onsets by 120-160 ms.
    """

    help = 'say "coach, pause / resume / next / back / repeat / louder / softer / stop"'

    def __init__(self, own_words: Iterable[str] = ()) -> None:
        try:
            import pocketsphinx  # noqa: F401  (only whether it is there: it runs elsewhere)
        except ImportError as exc:
            raise RecognizerMissing(str(exc)) from None
        self.own_words = list(own_words)
        self._stream = None
        self._process: subprocess.Popen | None = None
        self._frames: queue.SimpleQueue | None = None
        self._threads: list[threading.Thread] = []

    def start(self, put: Callable[[Action], None], sounding: Callable[[], bool]) -> None:
        """Returns once the worker is ready to hear and the microphone runs: the player
        starts its output only after this, so the output's first buffers have the CPU."""
        try:
            import sounddevice as sd
        except OSError as exc:  # PortAudio itself is missing
            raise ControlUnavailable(NO_MICROPHONE.format(why=exc)) from None
        # Its own interpreter, started plainly (not multiprocessing: that would re-run the
        # command line's main module in the child).
        self._process = subprocess.Popen(
            [sys.executable, "-m", "coach.live"],  # coach/live/__main__.py
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        pipe = self._process.stdin
        words = json.dumps(self.own_words).encode()
        pipe.write(len(words).to_bytes(4, "little") + words)
        pipe.flush()
        # The microphone opens only once the decoders are built (0.7 s here, 4 s and more on
        # a loaded machine): frames that came earlier piled up in the 64 KB pipe, and a full
        # pipe (2 s of frames) blocked the input callback that writes it (2.4 s, measured).
        if self._process.stdout.readline() != READY:
            self.stop()
            raise ControlUnavailable(NO_HEARING)
        frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._frames = frames

        def callback(data, count, when, status) -> None:
            # Stamped on arrival: the coach's sound at this moment is in this frame. Handed to
            # a thread, never written here: a write to a full pipe would block the callback.
            frames.put(bytes(data) + (b"\1" if sounding() else b"\0"))

        try:
            with muted_stderr():  # PortAudio's ALSA noise when a microphone fails to open
                self._stream = sd.RawInputStream(
                    samplerate=RATE, channels=1, dtype="int16", blocksize=FRAME, callback=callback
                )
                self._stream.start()
        except Exception as exc:  # PortAudioError, or ValueError: no input device at all
            self._stream = None
            self.stop()
            raise ControlUnavailable(NO_MICROPHONE.format(why=str(exc).split("\n")[0])) from None
        self._threads = [
            threading.Thread(target=self._send, args=(frames, pipe), daemon=True),
            threading.Thread(target=self._take, args=(put,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _send(frames: queue.SimpleQueue, pipe) -> None:
        """The frames into the worker's pipe, in order, until None."""
        while (frame := frames.get()) is not None:
            try:
                pipe.write(frame)
                pipe.flush()
            except (OSError, ValueError):  # the worker is gone
                return

    def _take(self, put: Callable[[Action], None]) -> None:
        for line in self._process.stdout:
            kind, _, text = line.decode().strip().partition(" ")
            if kind == "action":
                put(Action(text, acknowledge=True))
            else:  # "heard": a line for the user
                put(Action(NOTE, note=f"heard: {text}"))

    def stop(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.abort()
                self._stream.close()
            self._stream = None
        if self._frames is not None:
            self._frames.put(None)  # the sender ends after the frames before it
            self._frames = None
        for thread in self._threads[:1]:
            thread.join(1)
        if self._process is not None:
            with contextlib.suppress(OSError, ValueError):
                self._process.stdin.close()  # end of frames: the hearing ends
            try:
                self._process.wait(2)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        for thread in self._threads[1:]:
            thread.join(1)
        self._threads = []
        self._process = None


NO_MICROPHONE = "no microphone found ({why}): voice commands are off; the keys still work"
NO_HEARING = "the speech recognizer did not start: voice commands are off; the keys still work"
READY = b"ready\n"  # the worker's first line: its decoders are built
