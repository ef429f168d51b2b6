"""The machine stalls `coach play` and the session keeps its schedule.

The real `coach play` (espeak-ng, en-us) plays a 44 s routine into a private PulseAudio null
sink recorded in real time, and is stopped with SIGSTOP twice for 1 s: once in a pause between
phrases, once inside a 7 s phrase. While it is stopped the device plays silence it was never
handed; without catching up, every later sound came 0.95 s late per stall. What the sink
played is compared, sample for sample, with `coach export` of the same routine: each event's
first 40 ms of sound is located in the capture, relative to the first sound heard.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import wave

import numpy as np
import pytest
from pulse import RATE, PulseServer
from test_player import first_sound

from coach.cli import build_session

MS = RATE // 1000
STALL = 1.0
# Seconds after the first sound: in the pause after "Long slow strokes." (6.3-10 s), then 1.9 s
# into the long phrase of step 2 (14.6-21.7 s).
IN_A_PAUSE, IN_A_PHRASE = 6.8, 16.5
LONG_PHRASE = "Glide both hands up beside the spine and fan them out across the shoulders"
ROUTINE = f"""
title = "Stalls"
[coaching]
safety_notice = false
cautions = false
tempo = false
heads_up = false
halfway = false
countdown = false
check_in_first = false
check_in_every = false
posture_every = false

[[steps]]
technique = "effleurage"
area = "upper back"
duration = 10
say = "Long slow strokes."

[[steps]]
technique = "effleurage"
area = "whole back"
duration = 14
say = "{LONG_PHRASE} without lifting"

[[steps]]
technique = "rest"
area = "whole back"
duration = 20
say = "Rest your hands."
"""


class Stalled:
    """One stalled session: the capture (16-bit values), the export, the timeline, the stalls
    as (first, last) capture sample, and what the player printed."""

    def __init__(self, heard, written, timeline, stalls, code, out, err):
        self.heard, self.written, self.timeline = heard, written, timeline
        self.stalls, self.code, self.out, self.err = stalls, code, out, err
        self.first_heard = int(np.argmax(np.abs(heard) > 0))
        self.first_written = int(np.argmax(np.abs(written) > 0))

    def expected(self, sample: int) -> int:
        """Where timeline `sample` belongs in the capture, relative to the first sound."""
        return self.first_heard + sample - self.first_written


def ahead_of_the_load() -> None:
    """Run the player before other work on a busy machine (when allowed, as root): at a load
    of 7 on 2 cores it had one or two dropouts of its own in this 44 s session, and one just
    before a sound leaves no pause to catch up in. The stalls under test are the forced ones."""
    with contextlib.suppress(OSError):
        os.nice(-10)


@pytest.fixture(scope="module")
def stalled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stall")
    routine = tmp / "stalls.toml"
    routine.write_text(ROUTINE)
    server = PulseServer().start()
    env = dict(server.env, XDG_CACHE_HOME=str(tmp / "cache"))
    coach = [sys.executable, "-m", "coach"]
    voice = ["--voice", "en-us"]
    try:
        wav = tmp / "reference.wav"
        subprocess.run([*coach, "export", str(routine), *voice, "-o", str(wav)], env=env,
                       check=True, capture_output=True)  # fmt: skip
        with wave.open(str(wav)) as f:
            written = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int32)
        recorder = server.record()
        proc = subprocess.Popen(
            [*coach, "play", str(routine), *voice, "--no-keys"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=ahead_of_the_load,
        )
        times = []
        try:
            t0 = first_sound(recorder, timeout=20)
            for at in (IN_A_PAUSE, IN_A_PHRASE):
                time.sleep(max(0.0, t0 + at - time.monotonic()))
                proc.send_signal(signal.SIGSTOP)
                stopped = time.monotonic()
                time.sleep(STALL)
                proc.send_signal(signal.SIGCONT)
                times.append((stopped, time.monotonic()))
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        time.sleep(0.2)
        capture = recorder.stop()
    finally:
        server.stop()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp / "cache"))
        timeline = build_session(str(routine), voice="en-us").timeline
    heard = np.round(capture.samples * 32768).astype(np.int32)
    stalls = [(capture.index_at(a), capture.index_at(b)) for a, b in times]
    return Stalled(heard, written, timeline, stalls, proc.returncode, out, err)


def locate(heard: np.ndarray, sound: np.ndarray, around: int, reach: int) -> int | None:
    """The offset from `around` (within +-`reach`) nearest to 0 where `sound` is heard
    sample for sample (within float -> 16-bit rounding in the sound server), or None."""
    lo = max(0, around - reach)
    window = heard[lo : around + reach + len(sound)]
    starts = np.flatnonzero(np.abs(window[: len(window) - len(sound) + 1] - sound[0]) <= 2)
    found = [
        s + lo - around for s in starts if np.abs(window[s : s + len(sound)] - sound).max() <= 2
    ]
    return min(found, key=abs) if found else None


def onset(written: np.ndarray, event) -> int:
    """The event's first clearly audible sample in the export (a phrase can open softly)."""
    return event.start + int(np.argmax(np.abs(written[event.start : event.end]) > 300))


def test_every_sound_after_a_stall_is_back_on_time(stalled):
    s = stalled
    assert s.code == 0, s.err
    # From 3 s after each stall until the next one, or the end.
    windows = [(b + 3 * RATE, a) for (_, b), (a, _) in zip(s.stalls, s.stalls[1:], strict=False)]
    windows.append((s.stalls[-1][1] + 3 * RATE, len(s.heard)))
    offsets = []
    for event in s.timeline.events:
        at = onset(s.written, event)
        where = s.expected(at)
        if not any(lo <= where < hi for lo, hi in windows):
            continue
        sound = s.written[at : at + 40 * MS]
        offset = locate(s.heard, sound, where, 2 * RATE)
        offsets.append((event.text or event.name, offset))
    assert len(offsets) >= 6
    late = [(what, off if off is None else off / MS) for what, off in offsets
            if off is None or abs(off) > 20 * MS]  # fmt: skip
    assert not late, late  # None: not heard within 2 s of its time
    # One line per catch-up, and the closing line counts them (a loaded machine may add some).
    assert s.out.count("caught up") >= 3, s.out
    done = re.search(r"Session complete\. \((\d+) dropouts?, ([\d.]+) s caught up\)", s.out)
    assert done, s.out
    assert int(done[1]) >= 2 and float(done[2]) >= 2 * STALL - 0.2, done[0]


def test_a_phrase_cut_by_a_stall_is_heard_whole(stalled):
    s = stalled
    (phrase,) = [e for e in s.timeline.events if e.text.startswith(LONG_PHRASE)]
    sound = s.written[phrase.start : phrase.end]
    start = locate(s.heard, sound[: RATE // 25], s.expected(phrase.start), 2 * RATE)
    assert start is not None, "the phrase is not heard"
    at = s.expected(phrase.start) + start
    # Heard as written up to where the stall cut in ...
    same = np.abs(s.heard[at : at + len(sound)] - sound) <= 2
    cut = int(np.argmin(same))
    assert not same[cut], "the stall did not fall inside the phrase"
    stall_from = s.stalls[1][0]
    assert abs(at + cut - stall_from) <= RATE // 5  # the device buffer (50 ms) played out first
    # ... then, after the silence the stall made, every remaining sample of it, in order.
    rest = sound[cut:]
    resumed = locate(s.heard, rest[: RATE // 25], at + cut + RATE, RATE)
    assert resumed is not None, "the rest of the phrase is not heard"
    back = at + cut + RATE + resumed
    assert np.abs(s.heard[back : back + len(rest)] - rest).max() <= 2, "part of the phrase is lost"
    assert 0.5 * RATE <= back - (at + cut) <= 1.5 * RATE  # the hole is the stall
