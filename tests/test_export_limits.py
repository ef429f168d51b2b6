"""Exports at the edges: hundreds of chapters, more hours than a WAV can hold, a disk that fills
while the chapters are written. One line each or a correct file, never a traceback, and the
old file is never damaged."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3, CTOCFlags
from test_cli import coach, timeline

from coach.cli import worded
from coach.errors import CoachError, OutputError
from coach.files.export import TOC_ENTRIES, WAV_MAX_SAMPLES, export
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

R = SAMPLE_RATE


def tone(event: Event) -> np.ndarray:
    t = np.arange(event.length) / R
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def many_steps(count: int, step: int = R // 5) -> Timeline:
    spans = tuple(
        StepSpan(k, f"Step {k}" + " and more" * (k % 3), "effleurage", "back", (k - 1) * step,
                 k * step)
        for k in range(1, count + 1)
    )  # fmt: skip
    events = tuple(
        Event("speech", s.start, s.start + step // 2, s.index, "instruction", text=f"s{s.index}")
        for s in spans
    )
    return Timeline("Many", count * step, spans, events)


def ffprobe_chapters(path: Path) -> list[dict]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)["chapters"]


def test_an_mp3_with_300_chapters_nests_its_tables_of_contents(tmp_path):
    tl = many_steps(300)
    out = tmp_path / "guide.mp3"
    export(tl, tone, out, transcript="none")
    chapters = ffprobe_chapters(out)
    assert [c["tags"]["title"] for c in chapters] == [s.title for s in tl.steps]  # time order
    for chapter, step in zip(chapters, tl.steps, strict=True):
        assert float(chapter["start_time"]) == pytest.approx(step.start / R, abs=0.001)
    tags = ID3(str(out))
    tocs = {t.element_id: t for t in tags.getall("CTOC")}
    (top,) = [t for t in tocs.values() if t.flags & CTOCFlags.TOP_LEVEL]
    assert top.flags & CTOCFlags.ORDERED and len(top.child_element_ids) == 2
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    listed = [chaps[c] for sub in top.child_element_ids for c in tocs[sub].child_element_ids]
    assert all(len(tocs[sub].child_element_ids) <= TOC_ENTRIES for sub in top.child_element_ids)
    assert [c.sub_frames["TIT2"].text[0] for c in listed] == [s.title for s in tl.steps]


QUIET = """\
title = "Three hundred steps"
[coaching]
partner = false
safety_notice = false
cautions = false
tempo = false
heads_up = false
halfway = false
countdown = false
check_in_first = false
check_in_every = false
posture_every = false
"""


def test_coach_export_writes_a_300_step_routine_as_an_mp3_with_every_chapter(tmp_path):
    # Through the real command line. Five titles in turn keep the speech to a few phrases.
    names = [("Glide", "effleurage"), ("Knead", "petrissage"), ("Press", "friction"),
             ("Circle", "effleurage"), ("Rest", "rest")]  # fmt: skip
    steps = [
        f'[[steps]]\ntechnique = "{technique}"\narea = "back"\nduration = 5\n'
        f'title = "{title}"\nsay = "Keep going."\n'
        for title, technique in (names[k % 5] for k in range(300))
    ]
    routine = tmp_path / "many.toml"
    routine.write_text(QUIET + "\n".join(steps))
    out = tmp_path / "guide.mp3"
    done = coach("export", str(routine), "-o", str(out))
    assert done.returncode == 0, done.stderr
    planned = timeline(str(routine))["steps"]
    assert len(planned) == 302  # "Before you start", the 300 steps, "Afterwards"
    chapters = ffprobe_chapters(out)
    assert [c["tags"]["title"] for c in chapters] == [s["title"] for s in planned]
    starts = [float(c["start_time"]) for c in chapters]
    assert starts == pytest.approx([s["start_sample"] / R for s in planned], abs=0.001)


def test_a_wav_longer_than_4_gib_is_refused_before_anything_is_written(tmp_path):
    hours = 28
    tl = Timeline("Long", hours * 3600 * R, (StepSpan(1, "All", "effleurage", "back", 0,
                                                      hours * 3600 * R),), ())  # fmt: skip
    assert tl.duration > WAV_MAX_SAMPLES
    with pytest.raises(CoachError, match=r"at most 27 hours .* lasts 28\.0.*FLAC") as error:
        export(tl, tone, tmp_path / "guide.wav")
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_the_longest_wav_fits_its_32_bit_sizes():
    # The RIFF chunk size (36 header bytes + the samples) is the first to overflow.
    assert 36 + 2 * WAV_MAX_SAMPLES < 2**32 <= 36 + 2 * (WAV_MAX_SAMPLES + 1)


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of a given size in KiB, mounted for the test (needs root)."""
    mounted = []

    def mount(kib: int) -> Path:
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(where)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", str(where)], check=True)


def test_a_disk_that_fills_while_the_chapters_are_written_is_one_line(tmp_path, small_disk):
    # Where the disk must fill: the audio fits, the chapter frames (about 20 KB) do not.
    reference = tmp_path / "reference.mp3"
    export(many_steps(300), tone, reference, transcript="none")
    header = reference.read_bytes()[:10]
    tag = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(header[6:10]))
    assert tag > 16 * 1024
    # One page for the old guide; tmpfs counts whole 4 KiB pages.
    disk = small_disk((reference.stat().st_size - tag // 2) // 4096 * 4 + 4)
    target = disk / "guide.mp3"
    target.write_bytes(b"old guide")
    with pytest.raises(OutputError) as error:
        export(many_steps(300), tone, target, transcript="none")
    assert str(error.value) == (
        f"could not write {target}: No space left on device (guide.mp3 is as it was)"
    )
    assert worded(error.value).endswith(": choose another place with -o")  # the CLI's words
    assert target.read_bytes() == b"old guide"
    assert os.listdir(disk) == ["guide.mp3"]
