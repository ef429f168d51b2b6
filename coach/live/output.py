"""The sound device a live session plays on, and the protocol any other output follows.

Backend: sounddevice (PortAudio) callback stream. Not simpleaudio: 1.0.4 segfaults on
Python 3.12 and 3.13 (its repository is archived), and it plays whole buffers, with no clock to
schedule against. Another backend only needs `start(fill)`, `stop(drain)` and `alive()`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from coach.errors import NoDeviceError, ToolMissing
from coach.live.clock import DeviceClock
from coach.timeline import SAMPLE_RATE

if TYPE_CHECKING:
    import numpy as np

# Device buffer: what still plays after a key press. 50 ms keeps controls well within 100 ms.
LATENCY = 0.05
# Samples per device callback: 25 ms keeps the 50 ms latency and wakes the process half as
# often as PortAudio's own choice of 12.5 ms (a bare stream: 1.0 % of a core instead of 2.8 %).
DEVICE_BLOCK = SAMPLE_RATE // 40
# The audio callback runs every few ms; this long without one means the device is gone.
DEVICE_SILENT_S = 1.0


class Output(Protocol):
    """Calls `fill(out, late)` for each buffer; `late` is the silence (samples) the device
    played since the last call that it was never handed (an underrun), or 0."""

    def start(self, fill: Callable[[np.ndarray, int], None]) -> None: ...
    def stop(self, drain: bool) -> None: ...
    def alive(self) -> bool: ...
    def delay(self) -> float:
        """Seconds from handing a buffer over to hearing its first sample."""
        ...


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
        self._delay = latency
        self._muted = contextlib.ExitStack()  # stderr, while the stream is open

    def check(self) -> None:
        """Raise NoDeviceError now if there is no device to play on: before a routine's
        phrases are synthesized (tens of seconds on a cold cache), not after."""
        sd = self._sounddevice()
        try:
            with muted_stderr():  # PortAudio's ALSA probing prints C-level noise there
                sd.check_output_settings(samplerate=self.rate, channels=1, dtype="float32")
        except (sd.PortAudioError, ValueError) as exc:
            raise NoDeviceError(str(exc).split("\n")[0]) from None

    @staticmethod
    def _sounddevice():
        try:
            import sounddevice as sd
        except OSError:  # PortAudio itself is missing: sounddevice bundles it only off Linux
            raise ToolMissing("the PortAudio library", "live play") from None
        return sd

    def start(self, fill: Callable[[np.ndarray, int], None]) -> None:
        sd = self._sounddevice()
        clock = DeviceClock(self.rate, self.latency)

        def callback(outdata, frames, when, status) -> None:
            self.last_call = time.monotonic()
            late = clock.late(frames, when.currentTime, when.outputBufferDacTime)
            self._delay = max(0.0, when.outputBufferDacTime - when.currentTime)
            fill(outdata[:, 0], late)

        def finished() -> None:
            self.failed = True

        self._muted.enter_context(muted_stderr())
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
            self._muted.close()
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

    def delay(self) -> float:
        """As the device last stamped it: the sound server's buffer may add to LATENCY (the
        PulseAudio null sink here: 60-70 ms in all)."""
        return self._delay

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
        self._muted.close()


@contextlib.contextmanager
def muted_stderr() -> Iterator[None]:
    """File descriptor 2 goes nowhere while in it. PortAudio's ALSA layer writes C-level
    diagnostics straight there when a device fails ("Expression '...' failed in
    pa_linux_alsa.c"); the user gets the coach's one line instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
