"""Loudness as a listener's meter reads it in the encoded file: every format at its target,
true peaks under -1 dBTP after encoding (lossy codecs overshoot, and are encoded again where
they do), and a target no format can hold refused in one line. Real espeak-ng speech, real
encoders, ffmpeg's ebur128 meter."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from routines import NO_REPEATS, routine_toml, step_table
from test_export import EVENTS, TL, decode, onsets

from coach.files.export import MAX_LOUDNESS, export
from coach.timeline import SAMPLE_RATE as R

GUIDE = routine_toml(
    step_table("effleurage", "back", "0:30",
               "Glide up beside the spine, then let your hands come back down."),
    step_table("petrissage", "shoulders", "0:40", "Knead the shoulder: lift, squeeze and roll.",
               reminders=[{"at": "20s", "say": "Switch sides, and keep breathing slowly."}]),
    title="Loudness test",
    coaching=NO_REPEATS,
    rate=140,
)  # fmt: skip
OPTIONS = ["--voice", "en-us", "--no-safety", "--transcript", "none"]


def coach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args], capture_output=True, text=True, timeout=300
    )


def ebur128(path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as ffmpeg's ebur128 filter measures the file."""
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = err[err.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return integrated, peak


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("loudness")
    (path / "guide.toml").write_text(GUIDE)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("target", [-19, -16])
@pytest.mark.parametrize("fmt", ["mp3", "m4a", "ogg", "flac"])
def test_every_format_meets_its_target_with_true_peaks_under_minus_1(folder, fmt, target):
    out = folder / f"guide{target}.{fmt}"
    guide = str(folder / "guide.toml")
    done = coach("export", guide, *OPTIONS, "--loudness", str(target), "-o", str(out))
    assert done.returncode == 0, done.stderr
    integrated, peak = ebur128(out)
    assert integrated == pytest.approx(target, abs=0.3)
    assert peak <= -1.0


# Pink noise, and clicks 16 dB over their own loudness: ducked under the voice, a peaky bed
# once took the guide to -0.9 dBTP. The noise has a fixed seed so a failure can be run again;
# seeds 1 to 8 peaked -1.6 to -2.8 dBTP in M4A, MP3 and Ogg at -16 LUFS (-16.1 to -16.3 LUFS).
MUSIC = {
    "pink": "anoisesrc=d=20:c=pink:a=0.5:s=1",
    "clicks": "aevalsrc='if(lt(mod(t,0.5),0.02),0.9*sin(2*PI*800*t),0.01*sin(2*PI*200*t))':d=10",
}


@pytest.mark.slow
@pytest.mark.parametrize("music", ["pink", "clicks"])
@pytest.mark.parametrize("fmt", ["wav", "m4a", "mp3", "ogg"])
def test_the_loudest_target_with_music_keeps_true_peaks_under_minus_1(folder, music, fmt):
    path = folder / f"{music}.wav"
    if not path.exists():
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", MUSIC[music], str(path)],
                       check=True)  # fmt: skip
    out = folder / f"{music}.{fmt}"
    options = [*OPTIONS, "--loudness", str(MAX_LOUDNESS), "--music", str(path)]
    done = coach("export", str(folder / "guide.toml"), *options, "-o", str(out))
    assert done.returncode == 0, done.stderr
    integrated, peak = ebur128(out)
    assert integrated == pytest.approx(MAX_LOUDNESS, abs=0.5)  # the bed shifts the gating
    assert peak <= -1.0


def loud_square(event):
    """The second phrase a square wave the codecs push 1.3 to 3.2 dB over full scale when
    encoded as it is; the others a quiet tone."""
    t = np.arange(event.length) / R
    if event is EVENTS[2]:
        return (0.8 * np.sign(np.sin(2 * np.pi * 220 * t + 0.1))).astype(np.float32)
    return (0.3 * np.cos(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["m4a", "mp3", "ogg"])
def test_where_the_codec_overshoots_the_file_is_encoded_again_under_minus_1(tmp_path, fmt):
    out = export(TL, loud_square, tmp_path / f"guide.{fmt}", transcript="none")[0]
    assert ebur128(out)[1] <= -1.0
    x = decode(out)
    assert onsets(x) == [e.start for e in EVENTS]
    for e in (EVENTS[0], EVENTS[3]):  # away from the square wave, the level is untouched
        level = np.sqrt(np.mean(x[e.start + 500 : e.end - 500] ** 2))
        assert 20 * np.log10(level / (0.3 / np.sqrt(2))) == pytest.approx(0, abs=0.1)


def test_a_target_louder_than_any_format_holds_is_refused_in_one_line(folder, tmp_path):
    options = [*OPTIONS, "--loudness", "-10"]
    done = coach("export", str(folder / "guide.toml"), *options, "-o", str(tmp_path / "g.m4a"))
    assert done.returncode == 2
    assert done.stderr == (
        "coach: a loudness of -10 LUFS cannot keep true peaks at or under -1 dBTP in every "
        "format: -16 LUFS is the loudest that does\n"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_an_export_after_a_session_made_ahead_measures_what_a_cold_export_does(
    tmp_path, monkeypatch
):
    """Playing a routine while its phrases are made (the voice's level, not the guide's) leaves
    the export's whole-guide measurement as it was: cold, then warm, within 0.1 LU."""
    from coach.session import SessionSpec, build, sounds

    routine = tmp_path / "guide.toml"
    routine.write_text(GUIDE)
    found = []
    for name, ahead in (("plain", False), ("ahead", True)):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / name))
        if ahead:  # what `coach play` does on an empty cache, to the end of the synthesis
            spec = SessionSpec(str(routine), voice="en-us", safety=False)
            session = build(spec, ahead=True)
            assert session.making is not None and session.making.finished.wait(60)
            assert sounds(session).loudness != spec.level  # the voice's lift, not measured
        for run in ("cold", "warm"):
            out = tmp_path / f"{name}-{run}.wav"
            done = coach("export", str(routine), "-o", str(out), *OPTIONS)
            assert done.returncode == 0, done.stderr
            found.append(ebur128(out)[0])
    plain_cold, plain_warm, ahead_cold, ahead_warm = found
    assert abs(plain_warm - plain_cold) <= 0.1
    assert abs(ahead_cold - plain_cold) <= 0.1 and abs(ahead_warm - plain_cold) <= 0.1
