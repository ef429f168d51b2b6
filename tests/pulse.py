"""A private PulseAudio null sink and a real-time recorder of what is played into it.

This is the faithful way to test playback on a machine with no sound card: ALSA's own `null`
device is not paced (measured here, a 3.4 s clip "played" in 0.05 s), while the null sink
consumes audio at the real-time rate, and `parec` on its monitor records exactly what reached
it, sample by sample. Debian's ALSA config routes the default device to PulseAudio whenever
PULSE_SERVER is set, so a player sees it as `default`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RATE = 22050
# Whether the test now running is marked `realtime` (conftest.py sets it; None outside pytest,
# as in the benchmarks). A server is refused to an unmarked test, so `-m "not realtime"` never
# plays in real time.
realtime_test: bool | None = None


class PulseServer:
    """A private `pulseaudio` daemon with one mono 22050 Hz null sink called `fake`."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="coach-pulse-"))
        self.socket = self.dir / "native"
        self.proc: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment for a client of this server (and nothing else's)."""
        env = dict(os.environ)
        env.update(
            XDG_RUNTIME_DIR=str(self.dir / "rt"),
            HOME=str(self.dir / "home"),
            PULSE_SERVER=f"unix:{self.socket}",
        )
        return env

    def start(self) -> PulseServer:
        if realtime_test is False:
            raise RuntimeError("a test that plays through PulseAudio needs @pytest.mark.realtime")
        (self.dir / "rt").mkdir(mode=0o700)
        (self.dir / "home").mkdir()
        self.proc = subprocess.Popen(
            [
                "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                "--disallow-exit=yes", "--use-pid-file=no",
                "-L", f"module-null-sink sink_name=fake rate={RATE} channels=1 norewinds=1",
                "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
                "-L", "module-always-sink",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ok = subprocess.run(["pactl", "info"], env=self.env, capture_output=True)
            if ok.returncode == 0:
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the private PulseAudio server did not come up")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def record(self) -> Recorder:
        return Recorder(self.env).start()


class Recorder:
    """`parec` on the sink's monitor; every chunk read is stamped with `time.monotonic()`.

    A 5 ms recorder latency keeps stamps honest (500 ms put onsets off by up to 450 ms).
    """

    def __init__(self, env: dict[str, str], device: str = "fake.monitor") -> None:
        self.env = env
        self.device = device
        self.chunks: list[tuple[float, bytes]] = []
        self.proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Recorder:
        self.proc = subprocess.Popen(
            [
                "parec", f"--device={self.device}", f"--rate={RATE}", "--channels=1",
                "--format=s16le", "--raw", "--latency-msec=5",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        # Wait for the first chunk so nothing played after start() is missed.
        deadline = time.monotonic() + 5
        while not self.chunks and time.monotonic() < deadline:
            time.sleep(0.005)
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            if not data:
                return
            self.chunks.append((time.monotonic(), data))

    def stop(self) -> Capture:
        assert self.proc is not None and self._thread is not None
        self.proc.terminate()
        self.proc.wait(5)
        self._thread.join(5)
        return Capture(self.chunks)


class Capture:
    """What the sink played: samples plus the wall-clock time of any sample index."""

    def __init__(self, chunks: list[tuple[float, bytes]]) -> None:
        raw = b"".join(data for _, data in chunks)
        raw = raw[: len(raw) // 2 * 2]
        self.samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        # (time the chunk arrived, index one past its last sample): the chunk's last sample
        # reached the sink at about that time.
        self._stamps: list[tuple[float, int]] = []
        count = 0
        for stamp, data in chunks:
            count += len(data) // 2
            self._stamps.append((stamp, count))

    def time_of(self, index: int) -> float:
        """The monotonic time at which sample `index` was played (to within a chunk)."""
        for stamp, end in self._stamps:
            if end > index:
                return stamp - (end - 1 - index) / RATE
        stamp, end = self._stamps[-1]
        return stamp + (index - end) / RATE

    def index_at(self, moment: float) -> int:
        """The sample index that was playing at monotonic time `moment`."""
        for stamp, end in self._stamps:
            if stamp >= moment:
                return max(0, end - 1 - round((stamp - moment) * RATE))
        stamp, end = self._stamps[-1]
        return end

    def onsets(self, threshold: float = 0.02, gap: int = RATE // 20) -> list[int]:
        """Sample indices where sound starts after at least `gap` samples of silence."""
        loud = np.flatnonzero(np.abs(self.samples) > threshold)
        if len(loud) == 0:
            return []
        starts = [int(loud[0])]
        starts += [int(b) for a, b in itertools.pairwise(loud) if b - a > gap]
        return starts

    def loud_between(self, lo: int, hi: int, threshold: float = 0.02) -> bool:
        return bool(np.any(np.abs(self.samples[lo:hi]) > threshold))


class PulseRoom(PulseServer):
    """The private server plus a room: a second null sink `room` whose monitor is the default
    source, so whatever is played into the room is what a microphone hears. `speak()` plays a
    voice into it; with `loopback`, the coach's own output (`fake`) reaches it too, as from a
    loudspeaker in the same room."""

    def __init__(self, loopback: bool = False) -> None:
        super().__init__()
        self.loopback = loopback

    def start(self) -> PulseRoom:
        super().start()
        commands = [
            ["load-module", "module-null-sink", "sink_name=room", "rate=16000", "channels=1",
             "norewinds=1"],
            ["set-default-sink", "fake"],
            ["set-default-source", "room.monitor"],
        ]  # fmt: skip
        if self.loopback:
            commands.append(
                ["load-module", "module-loopback", "source=fake.monitor", "sink=room",
                 "latency_msec=30", "source_dont_move=true", "sink_dont_move=true"]
            )  # fmt: skip
        for args in commands:
            subprocess.run(["pactl", *args], env=self.env, check=True, capture_output=True)
        return self

    def record_room(self) -> Recorder:
        """What the microphone hears, on the same clock as `record()`."""
        return Recorder(self.env, "room.monitor").start()

    def speak(self, audio: np.ndarray) -> tuple[float, float]:
        """Play `audio` (float32 mono at 22050 Hz) into the room; returns when it started and
        when it ended (monotonic), waiting for the end."""
        proc = subprocess.Popen(
            ["pacat", "--playback", "--device=room", f"--rate={RATE}", "--channels=1",
             "--format=float32le", "--latency-msec=20"],
            env=self.env,
            stdin=subprocess.PIPE,
        )  # fmt: skip
        began = time.monotonic()
        assert proc.stdin is not None
        proc.stdin.write(audio.astype("<f4").tobytes())
        proc.stdin.close()
        proc.wait(30)
        return began, time.monotonic()
