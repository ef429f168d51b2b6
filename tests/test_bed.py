"""The music bed as a listener hears it in an exported file: held down through short pauses,
no click where a file that does not loop cleanly starts again, faded out at the end.

The clips are silent, so the WAV holds the bed alone and is measured sample by sample; the
last test runs the whole path with real speech from a built-in routine."""

from __future__ import annotations

import itertools
import json
import subprocess

import numpy as np
import pytest
from command import coach

from coach.errors import CoachError
from coach.files.export import export
from coach.sound import music
from coach.sound.music import DUCK_DB, FADE
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

R = SAMPLE_RATE


def decode(path) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(R), "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768


def level_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x**2)))


def window_levels(x: np.ndarray, width: int = R // 20) -> np.ndarray:
    """RMS level in dB of every whole `width`-sample window of `x` (50 ms by default)."""
    whole = len(x) // width * width
    return 10 * np.log10(np.mean(x[:whole].reshape(-1, width) ** 2, axis=1))


@pytest.fixture(scope="module")
def rough_loop(tmp_path_factory):
    """1.37 s of 220 Hz: it stops 0.4 of a cycle short, so looping it cuts mid-wave."""
    path = tmp_path_factory.mktemp("music") / "rough.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=1.37",
         "-ar", str(R), "-ac", "1", str(path)],
        check=True,
    )  # fmt: skip
    x = decode(path)
    assert abs(x[-1] - x[0]) > 0.25 * np.abs(x).max()  # the file itself does not loop cleanly
    return path


# Sounds with pauses of 0.3, 1.2 and 0.6 s, then 6 s of quiet, then a pause of 1.4 s.
SOUNDS = [(2.0, 3.5), (3.8, 5.0), (6.2, 7.0), (7.6, 9.0), (15.0, 16.0), (17.4, 18.0)]
DURATION = 30 * R
EVENTS = tuple(
    Event("speech", round(a * R), round(b * R), 1, "instruction", text=f"at {a}") for a, b in SOUNDS
)
TL = Timeline("Bed", DURATION, (StepSpan(1, "All", "effleurage", "back", 0, DURATION),), EVENTS)


def silent(event: Event) -> np.ndarray:
    return np.zeros(event.length, dtype=np.float32)


@pytest.fixture(scope="module")
def bed(rough_loop, tmp_path_factory) -> np.ndarray:
    out = tmp_path_factory.mktemp("bed") / "bed.wav"
    export(TL, silent, out, music=rough_loop, transcript="none")
    x = decode(out)
    assert len(x) == DURATION
    return x


def test_the_bed_stays_down_through_pauses_under_one_and_a_half_seconds(bed):
    clear = level_db(bed[10 * R : 14 * R])  # the 6 s of quiet, clear of the fades
    ducked = level_db(bed[4 * R : 5 * R])
    assert ducked - clear == pytest.approx(DUCK_DB, abs=0.5)
    short_gaps = [
        (a.end, b.start) for a, b in itertools.pairwise(EVENTS) if b.start - a.end < 1.5 * R
    ]
    assert len(short_gaps) == 4
    for lo, hi in short_gaps:
        assert window_levels(bed[lo:hi]).max() <= ducked + 3, (lo / R, hi / R)
    # The long pause does come back up.
    assert window_levels(bed[9 * R : 15 * R]).max() > ducked + 9


def test_no_click_where_the_music_starts_again(bed):
    """The 1.37 s file loops about 20 times; at none of its seams does a sample jump."""
    amplitude = np.abs(bed[10 * R : 14 * R]).max()
    assert np.abs(np.diff(bed)).max() <= amplitude / 4


def test_the_bed_fades_out_under_the_end(bed):
    clear = level_db(bed[22 * R : 25 * R])
    assert level_db(bed[19 * R : 22 * R]) == pytest.approx(clear, abs=0.5)
    seconds = [level_db(bed[DURATION - k * R : DURATION - (k - 1) * R]) for k in (4, 3, 2, 1)]
    assert seconds == sorted(seconds, reverse=True)  # falling, second by second
    assert level_db(bed[-R // 4 :]) < clear - 30
    assert abs(bed[-1]) < 1e-3


@pytest.mark.slow
def test_a_long_file_decoded_again_each_pass_sounds_the_same(
    rough_loop, bed, tmp_path, monkeypatch
):
    # Files over KEEP_SECONDS are not kept in memory; this one is made "long" to take that path.
    monkeypatch.setattr(music, "KEEP_SECONDS", 1)
    out = tmp_path / "streamed.wav"
    export(TL, silent, out, music=rough_loop, transcript="none")
    np.testing.assert_array_equal(decode(out), bed)


def test_a_file_too_short_to_crossfade_is_one_line(tmp_path):
    blip = tmp_path / "blip.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=0.15",
         "-ar", str(R), str(blip)],
        check=True,
    )  # fmt: skip
    with pytest.raises(CoachError, match="too short to loop") as error:
        export(TL, silent, tmp_path / "guide.wav", music=blip)
    assert "\n" not in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blip.wav"]


def test_real_guide_holds_the_bed_down_between_sentences(rough_loop, tmp_path):
    routine = ["quick-relief", "--voice", "en-us", "--no-safety"]
    events = json.loads(coach("preview", *routine, "--format", "json").stdout)["events"]
    out = tmp_path / "guide.wav"
    done = coach("export", *routine, "--music", str(rough_loop), "-o", str(out))
    assert done.returncode == 0, done.stderr
    x = decode(out)
    gaps = [(a["end_sample"], b["start_sample"]) for a, b in itertools.pairwise(events)]
    lo, hi = max(gaps, key=lambda g: g[1] - g[0])
    clear = level_db(x[lo + FADE : hi - FADE])
    short = [(a, b) for a, b in gaps if 0 < b - a < 1.5 * R]
    assert len(short) >= 20
    for a, b in short:
        assert window_levels(x[a:b]).max() <= clear + DUCK_DB + 3, (a / R, b / R)
