"""`coach export`: the file holds the timeline to the sample, with chapters, tags and a
transcript, and is written atomically. Real ffmpeg and mutagen throughout; the first part uses
tone bursts on a hand-built timeline, the last part the whole path from a built-in routine."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3, CTOCFlags
from routines import NO_REPEATS, routine_toml, step_table

from coach.errors import CoachError
from coach.files.export import FORMATS, export
from coach.sound.render import SPEECH_FADE, render, to_pcm16
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

R = SAMPLE_RATE
TOLERANCE = R // 100  # 10 ms


def tone(event: Event) -> np.ndarray:
    """A clip that starts at full level on its first sample, so its onset is unambiguous."""
    t = np.arange(event.length) / R
    freq = 440.0 if event.kind == "speech" else 880.0
    return (0.3 * np.cos(2 * np.pi * freq * t)).astype(np.float32)


STEPS = (
    StepSpan(1, "Warm-up = glide; #1", "effleurage", "back", 0, 3 * R + 17),
    StepSpan(2, "Knead the shoulders", "petrissage", "shoulders", 3 * R + 17, 7 * R + 11),
    StepSpan(3, "Still hands", "effleurage", "back", 7 * R + 11, 9 * R),
)
EVENTS = (
    Event("speech", 1001, 1001 + R, 1, "instruction", text="Place your hands, slowly."),
    Event("cue", 3 * R + 17, 3 * R + 17 + R // 2, 2, "step", name="chime"),
    Event("speech", 5 * R + 3, 6 * R + 999, 2, "instruction", text="Knead, then release."),
    Event("speech", 7 * R + 11, 8 * R, 3, "instruction", text="Rest your hands."),
)
TL = Timeline("Test guide", 9 * R, STEPS, EVENTS)


def decode(path: Path, rate: int = R) -> np.ndarray:
    """Any exported file as mono float samples at `rate`, via the ffmpeg program: a reader
    independent of the coach's own (PyAV)."""
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(rate),
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768


def onsets(x: np.ndarray, threshold: float = 0.1, silence: int = R // 20) -> list[int]:
    """First loud sample after at least `silence` quiet samples."""
    loud = np.flatnonzero(np.abs(x) > threshold)
    if len(loud) == 0:
        return []
    starts = [loud[0]] + [b for a, b in itertools.pairwise(loud) if b - a > silence]
    return [int(s) for s in starts]


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-show_format", "-show_streams",
         "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def test_wav_holds_exactly_the_rendered_timeline(tmp_path):
    out = tmp_path / "guide.wav"
    assert export(TL, tone, out) == [out, tmp_path / "guide.vtt"]
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, R)
        assert w.getnframes() == TL.duration
        pcm = w.readframes(w.getnframes())
    expected = b"".join(to_pcm16(b) for b in render(TL, tone, block=TL.duration))
    assert pcm == expected
    x = np.frombuffer(pcm, dtype="<i2") / 32768
    assert onsets(x) == [e.start for e in EVENTS]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    return {fmt: export(TL, tone, folder / f"guide.{fmt}")[0] for fmt in FORMATS}


# Samples a decoder may add at the end: AAC's last frame is padded and ffmpeg's MP4 muxer
# does not record the padding (it does trim the 1024-sample priming at the start).
END_PADDING = {"m4a": 1024, "m4b": 1024}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_decodes_to_the_timeline_length_with_onsets_in_place(exported, fmt):
    x = decode(exported[fmt])
    assert TL.duration <= len(x) <= TL.duration + END_PADDING.get(fmt, 0)
    found = onsets(x)
    assert len(found) == len(EVENTS)
    for got, event in zip(found, EVENTS, strict=True):
        assert abs(got - event.start) <= TOLERANCE, (fmt, got, event.start)


def test_ogg_is_opus_at_48_khz_with_every_onset_at_its_sample_there(exported):
    """Opus codes at 48 kHz only: the guide is resampled, and an onset at sample n of the
    timeline lands at n * 48000 / 22050 (within the resampler's ringing: 2 samples, 42 us)."""
    (stream,) = ffprobe(exported["ogg"])["streams"]
    assert (stream["codec_name"], stream["sample_rate"]) == ("opus", "48000")
    x = decode(exported["ogg"], rate=48000)
    assert len(x) == round(TL.duration * 48000 / R)
    found = onsets(x, silence=48000 // 20)
    assert len(found) == len(EVENTS)
    for got, event in zip(found, EVENTS, strict=True):
        assert abs(got - event.start * 48000 / R) <= 2, (got, event.start)


@pytest.mark.parametrize("fmt", ["flac", "ogg", "m4a", "m4b", "mp3"])
def test_chapters_and_tags_read_back_with_ffprobe(exported, fmt):
    info = ffprobe(exported[fmt])
    chapters = info["chapters"]  # in the order ffprobe reads them: time order, as players list
    assert [c["tags"]["title"] for c in chapters] == [s.title for s in STEPS]
    for chapter, step in zip(chapters, STEPS, strict=True):
        assert float(chapter["start_time"]) == pytest.approx(step.start / R, abs=0.001)
    tags = {k.lower(): v for k, v in info["format"].get("tags", {}).items()}
    if fmt == "ogg":  # Vorbis comments belong to the stream
        tags = {k.lower(): v for k, v in info["streams"][0]["tags"].items()}
    assert tags["title"] == "Test guide" and tags["artist"] == "coach"
    assert tags["comment"] == "Voice-guided back massage, 0 min, 3 steps"


def test_mp3_comment_is_a_comm_frame(exported):
    tags = ID3(str(exported["mp3"]))
    (comment,) = tags.getall("COMM")
    assert comment.text == ["Voice-guided back massage, 0 min, 3 steps"]
    assert not tags.getall("TXXX")


def test_mp3_chapters_have_a_top_level_ordered_table_of_contents(exported):
    tags = ID3(str(exported["mp3"]))
    (toc,) = tags.getall("CTOC")
    assert toc.flags & CTOCFlags.TOP_LEVEL and toc.flags & CTOCFlags.ORDERED
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    children = [chaps[i] for i in toc.child_element_ids]
    assert [c.sub_frames["TIT2"].text[0] for c in children] == [s.title for s in STEPS]
    starts = [c.start_time for c in children]
    assert starts == sorted(starts)
    for chap, step in zip(children, STEPS, strict=True):
        assert abs(chap.start_time - step.start * 1000 / R) <= 1
        assert abs(chap.end_time - step.end * 1000 / R) <= 1


def test_flac_and_ogg_carry_vorbis_chapter_comments(exported):
    import mutagen

    for fmt in ("flac", "ogg"):
        tags = mutagen.File(str(exported[fmt]))
        assert tags["CHAPTER002"] == ["00:00:03.001"]  # 3 s + 17 samples = 3000.77 ms
        assert tags["CHAPTER002NAME"] == ["Knead the shoulders"]


def parse_subtitles(text: str) -> list[tuple[int, int, str]]:
    """(start ms, end ms, text) of each cue in an SRT or WebVTT file."""
    stamp = r"(\d\d):(\d\d):(\d\d)[.,](\d{3})"
    cues = []
    for m in re.finditer(rf"{stamp} --> {stamp}\n(.+)\n", text):
        g = [int(v) for v in m.groups()[:8]]
        start = ((g[0] * 60 + g[1]) * 60 + g[2]) * 1000 + g[3]
        end = ((g[4] * 60 + g[5]) * 60 + g[6]) * 1000 + g[7]
        cues.append((start, end, m.group(9)))
    return cues


@pytest.mark.parametrize("kind", ["vtt", "srt"])
def test_transcript_beside_the_audio_has_one_cue_per_phrase(tmp_path, kind):
    out = tmp_path / "guide.ogg"
    written = export(TL, tone, out, transcript=kind)
    text = (tmp_path / f"guide.{kind}").read_text()
    assert written == [out, tmp_path / f"guide.{kind}"]
    assert text.startswith("WEBVTT") if kind == "vtt" else text.startswith("1\n")
    speech = [e for e in EVENTS if e.kind == "speech"]
    expected = [(round(e.start * 1000 / R), round(e.end * 1000 / R), e.text) for e in speech]
    assert parse_subtitles(text) == expected


def test_no_transcript_writes_only_the_audio(tmp_path):
    export(TL, tone, tmp_path / "guide.mp3", transcript="none")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guide.mp3"]


def test_format_option_overrides_the_extension(tmp_path):
    out = tmp_path / "guide.audio"
    export(TL, tone, out, fmt="flac", transcript="none")
    assert ffprobe(out)["format"]["format_name"] == "flac"


@pytest.mark.parametrize(
    ("out", "fmt", "music", "message"),
    [
        ("missing/guide.wav", None, None, "does not exist"),
        ("guide.aiff", None, None, "unknown file extension '.aiff'"),
        ("guide.mp3", "opus", None, "unknown format 'opus'"),
        ("guide.vtt", "mp3", None, "overwritten by its own transcript"),
        ("guide.wav", None, "not-audio.mp3", "is not audio"),
        ("guide.wav", None, "absent.mp3", "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_leaves_nothing_behind(tmp_path, out, fmt, music, message):
    (tmp_path / "not-audio.mp3").write_text("this is text\n")
    before = sorted(tmp_path.iterdir())
    with pytest.raises(CoachError, match=re.escape(message)) as error:
        export(TL, tone, tmp_path / out, fmt=fmt, music=music and tmp_path / music)
    assert "\n" not in str(error.value)
    assert sorted(tmp_path.iterdir()) == before


def test_an_unwritable_folder_is_one_line():
    # /sys refuses new files even to root, where permission bits would not.
    with pytest.raises(CoachError, match=r"could not write /sys/guide\.wav") as error:
        export(TL, tone, Path("/sys/guide.wav"))
    assert "\n" not in str(error.value)


EXPORTER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from coach.files.export import export
    from coach.timeline import Event, StepSpan, Timeline
    R, hours = 22050, 3
    n = hours * 3600 * R
    events = tuple(Event("speech", s, s + R, 1, "instruction", text=f"phrase {s}")
                   for s in range(R, n - R, 10 * R))
    tl = Timeline("Long", n, (StepSpan(1, "All", "effleurage", "back", 0, n),), events)
    clip = np.full(R, 0.1, dtype=np.float32)
    export(tl, lambda e: clip, Path(sys.argv[1]))
    """
)


def start_long_export(target: Path) -> tuple[subprocess.Popen, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", EXPORTER, str(target)], stderr=subprocess.PIPE, text=True
    )
    partial = target.with_name(f".{target.name}.partial-{proc.pid}")
    deadline = time.monotonic() + 30
    while not (partial.exists() and partial.stat().st_size > 100_000):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the export never started writing"
        time.sleep(0.02)
    return proc, partial


def test_sigkill_leaves_the_old_file_intact_and_the_next_export_sweeps_up(tmp_path):
    target = tmp_path / "guide.mp3"
    target.write_bytes(b"old guide")
    proc, partial = start_long_export(target)
    proc.kill()
    proc.wait()
    assert target.read_bytes() == b"old guide"
    assert partial.exists()  # nothing can run on SIGKILL ...
    export(TL, tone, target)  # ... so the next export into the folder removes it
    assert not partial.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guide.mp3", "guide.vtt"]
    assert len(decode(target)) == TL.duration


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_export_keeps_the_old_file_and_leaves_no_partial(tmp_path, sig):
    target = tmp_path / "guide.mp3"
    target.write_bytes(b"old guide")
    (tmp_path / "guide.vtt").write_text("old transcript")
    proc, _ = start_long_export(target)
    proc.send_signal(sig)
    assert proc.wait(timeout=10) != 0
    assert target.read_bytes() == b"old guide"
    assert (tmp_path / "guide.vtt").read_text() == "old transcript"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guide.mp3", "guide.vtt"]


# The whole path: a routine file -> `coach export` (real espeak-ng, real ffmpeg) -> the file.

ROUTINE = routine_toml(
    step_table("effleurage", "back", "0:25", "Glide up beside the spine."),
    step_table("petrissage", "shoulders", "0:35", "Knead the shoulder.", title="Shoulder kneading",
               reminders=[{"at": "15s", "say": "Switch sides."}]),
    title="Short test",
    coaching=NO_REPEATS,
    rate=140,
)  # fmt: skip
OPTIONS = ["--no-safety", "--rate", "150", "--voice", "en-us"]


def coach(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True, text=True, env=env or os.environ, timeout=120,
    )  # fmt: skip


@pytest.fixture(scope="module")
def routine(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("routine") / "short.toml"
    path.write_text(ROUTINE)
    return path


@pytest.fixture(scope="module")
def preview(routine) -> dict:
    result = coach("preview", str(routine), *OPTIONS, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def run_export(routine: Path, out: Path, *extra: str) -> None:
    result = coach("export", str(routine), *OPTIONS, "-o", str(out), *extra)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"wrote {out}"


def test_the_wav_holds_the_previewed_timeline_to_the_sample(routine, preview, tmp_path):
    out = tmp_path / "guide.wav"
    run_export(routine, out)
    with wave.open(str(out)) as w:
        assert w.getnframes() == preview["duration_samples"]
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    events = preview["events"]
    assert len(events) >= 8
    cue_errors = []
    for before, event in itertools.pairwise([None, *events]):
        silence_from = before["end_sample"] if before else 0
        start, end = event["start_sample"], event["end_sample"]
        assert not x[silence_from:start].any()  # clips sit in silence, nothing before its sample
        onset = start + int(np.flatnonzero(x[start:end])[0])
        if event["kind"] == "cue":
            cue_errors.append(onset - start)
        else:  # speech fades in over its first 4 ms, inside the event
            assert onset - start < SPEECH_FADE, event
            assert np.abs(x[start:end]).max() > 0.1 * 32768
    assert cue_errors and cue_errors.count(0) >= len(cue_errors) - 1  # +-1 LSB at most


def test_every_speech_clip_fades_in_and_out(routine, preview, tmp_path):
    """Within -40 dBFS in its first and last two samples: no tick where a phrase starts or
    stops on a step from or to digital silence."""
    out = tmp_path / "guide.wav"
    run_export(routine, out)
    x = decode(out)
    speech = [e for e in preview["events"] if e["kind"] == "speech"]
    assert len(speech) >= 5
    for e in speech:
        edges = np.concatenate((x[e["start_sample"] :][:2], x[: e["end_sample"]][-2:]))
        assert np.abs(edges).max() <= 0.01, e


def test_the_transcript_has_each_previewed_phrase_at_its_time(routine, preview, tmp_path):
    run_export(routine, tmp_path / "guide.wav", "--transcript", "srt")
    cues = parse_subtitles((tmp_path / "guide.srt").read_text())
    speech = [e for e in preview["events"] if e["kind"] == "speech"]
    assert [c[2] for c in cues] == [e["text"] for e in speech]
    for (start, end, _), e in zip(cues, speech, strict=True):
        assert start == round(e["start"] * 1000) and end == round(e["end"] * 1000)


def loudness(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as ffmpeg's ebur128 filter measures them."""
    err = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    summary = err[err.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return integrated, peak


def test_mp3_has_the_previewed_chapters_length_and_loudness(routine, preview, tmp_path):
    out = tmp_path / "guide.mp3"
    run_export(routine, out)
    toc = ID3(str(out)).getall("CTOC")[0]
    chaps = {c.element_id: c for c in ID3(str(out)).getall("CHAP")}
    children = [chaps[i] for i in toc.child_element_ids]
    assert [c.sub_frames["TIT2"].text[0] for c in children] == [
        s["title"] for s in preview["steps"]
    ]
    for chap, step in zip(children, preview["steps"], strict=True):
        assert abs(chap.start_time - step["start_sample"] * 1000 / R) <= 1
    assert abs(len(decode(out)) - preview["duration_samples"]) <= 1152  # one MP3 frame
    integrated, peak = loudness(out)
    assert integrated == pytest.approx(-19, abs=1)
    assert peak <= -1.0


@pytest.mark.slow
def test_loudness_option_sets_the_level(routine, tmp_path):
    out = tmp_path / "guide.m4b"
    run_export(routine, out, "--loudness", "-16", "--transcript", "none")
    assert len(ffprobe(out)["chapters"]) == 4  # the pre-roll, the two steps, the aftercare
    integrated, peak = loudness(out)
    assert integrated == pytest.approx(-16, abs=1)
    assert peak <= -1.0


def test_music_plays_quietly_under_the_voice_and_ducks(routine, preview, tmp_path):
    music = tmp_path / "music.ogg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=7",
         "-ac", "2", str(music)],
        check=True,
    )  # fmt: skip
    out = tmp_path / "guide.wav"
    run_export(routine, out, "--music", str(music))
    x = decode(out)
    assert len(x) == preview["duration_samples"]
    events = preview["events"]
    gaps = [(a["end_sample"], b["start_sample"]) for a, b in itertools.pairwise(events)]
    lo, hi = max(gaps, key=lambda g: g[1] - g[0])  # the longest stretch without a sound
    clear = x[lo + R // 5 : hi - R // 5]  # clear of the 150 ms fades
    # A low sine's LUFS is its RMS level in dB - 0.691 (K-weighting is flat there).
    rms_db = 20 * np.log10(np.sqrt(np.mean(clear.astype(np.float64) ** 2)))
    assert rms_db - 0.691 == pytest.approx(-19 - 14, abs=1)
    assert loudness(out)[0] == pytest.approx(-19, abs=1)  # the voice still sets the level


def test_json_and_export_agree_with_the_ticks_option(routine, tmp_path):
    result = coach("preview", str(routine), *OPTIONS, "--ticks", "--format", "json")
    ticked = json.loads(result.stdout)
    assert any(e["role"] == "tick" for e in ticked["events"])
    out = tmp_path / "guide.flac"
    run_export(routine, out, "--ticks")
    assert len(decode(out)) == ticked["duration_samples"]


def bin_without_ffmpeg(tmp_path: Path) -> dict:
    """An environment whose PATH holds espeak-ng but no ffmpeg."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "espeak-ng").symlink_to(shutil.which("espeak-ng"))
    return dict(os.environ, PATH=str(bin_dir))


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4b"])
def test_export_with_music_needs_no_ffmpeg_program(routine, preview, tmp_path, fmt):
    """Encoding, the music's decoding and the peak check all run in the coach's process."""
    music = tmp_path / "music.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anoisesrc=d=4:c=pink:a=0.2", str(music)],
        check=True,
    )  # fmt: skip
    out = tmp_path / f"guide.{fmt}"
    env = bin_without_ffmpeg(tmp_path)
    result = coach("export", str(routine), *OPTIONS, "-o", str(out), "--music", str(music), env=env)
    assert result.returncode == 0, result.stderr
    titles = [c["tags"]["title"] for c in ffprobe(out)["chapters"]]
    assert titles == [s["title"] for s in preview["steps"]]
    assert loudness(out)[1] <= -1.0


@pytest.mark.parametrize(
    ("out", "extra", "message"),
    [
        ("missing/guide.mp3", [], "output folder"),
        ("guide.aiff", [], "unknown file extension"),
        ("guide.wav", ["--music", "{tmp}/notes.txt"], "is not audio"),
        ("/sys/guide.wav", [], "could not write"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_left(routine, tmp_path, out, extra, message):
    (tmp_path / "notes.txt").write_text("not music\n")
    extra = [a.format(tmp=tmp_path) for a in extra]
    before = sorted(tmp_path.rglob("*"))
    target = out if out.startswith("/") else str(tmp_path / out)
    result = coach("export", str(routine), *OPTIONS, "-o", target, *extra)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(tmp_path.rglob("*")) == before


def test_ctrl_c_on_a_long_export_is_one_line_and_keeps_the_old_file(routine, tmp_path):
    target = tmp_path / "guide.mp3"
    target.write_bytes(b"old guide")
    args = ["-m", "coach", "export", str(routine), *OPTIONS, "--minutes", "240", "-o", str(target)]
    proc = subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE, text=True)
    partial = target.with_name(f".{target.name}.partial-{proc.pid}")
    deadline = time.monotonic() + 60
    while not (partial.exists() and partial.stat().st_size > 100_000):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert proc.stderr.read().strip() == "coach: interrupted"
    assert target.read_bytes() == b"old guide"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guide.mp3"]
