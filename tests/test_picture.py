"""The picture of a session (`coach preview --format svg`): every step and every sound drawn
where the JSON timeline puts it, to the pixel, with the words it speaks.

The geometry is the contract coach/files/picture.py documents: rows of `data-row-samples`
samples, x = LEFT + (sample - row * N) * PLOT_WIDTH / N. The checks here parse the SVG as a
tool would and compare it with `preview --format json` for the same routine and options.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.files.picture import LEFT, MIN_MARK, NOT_XML, PLOT_WIDTH, TICK_MERGE, svg
from coach.files.picture_style import TECHNIQUE_COLOURS
from coach.resources import BUILTIN_CUES
from coach.script.techniques import LIBRARY
from coach.timeline import SAMPLE_RATE as S
from coach.timeline import Event, StepSpan, Timeline, clock

NS = "{http://www.w3.org/2000/svg}"
# Written to 0.01 px: a position may differ from the exact one by half of that.
ROUNDING = 0.006


def coach(*args: str, umask: int = -1) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
        umask=umask,
    )


def preview(*args: str) -> tuple[ET.Element, dict]:
    """The SVG (parsed) and the JSON timeline of the same routine and options."""
    drawn = coach("preview", *args, "--format", "svg")
    assert drawn.returncode == 0, drawn.stderr
    timed = coach("preview", *args, "--format", "json")
    assert timed.returncode == 0, timed.stderr
    return ET.fromstring(drawn.stdout), json.loads(timed.stdout)


def x_of(sample: int, n: int, end: bool = False) -> tuple[int, float]:
    """(row, x) of a sample, as the picture's docstring defines them."""
    row = (sample - 1) // n if end else sample // n
    return row, LEFT + (sample - row * n) * PLOT_WIDTH / n


def rects(element: ET.Element) -> list[ET.Element]:
    if element.tag == NS + "rect":
        return [element]
    return [r for r in element if r.tag == NS + "rect"]


def num(element: ET.Element, name: str) -> float:
    return float(element.get(name))


def title(element: ET.Element) -> str:
    return element.find(NS + "title").text or ""


def check_picture(root: ET.Element, t: dict) -> None:
    """Everything the picture promises about the timeline `t` (the JSON's dict)."""
    assert root.get("role") == "img"
    assert NOT_XML.sub("", t["title"]) in root.get("aria-label")
    assert float(root.get("width")) <= 1200  # a laptop screen
    n = int(root.get("data-row-samples"))
    assert n <= 25 * 60 * t["sample_rate"]  # rows of at most 25 minutes: 46 px a minute
    text = " ".join("".join(e.itertext()) for e in root.iter(NS + "text"))
    assert NOT_XML.sub("", t["title"]) in text
    assert (t["voice"] in text and f"{t['rate']} words a minute" in text) or t["estimated"]
    assert clock(t["duration_samples"], t["sample_rate"]) in text  # its length

    steps = {int(g.get("data-step")): g for g in root.iter() if g.get("data-step") is not None}
    assert sorted(steps) == sorted(s["index"] for s in t["steps"])
    assert len([g for g in root.iter() if g.get("data-step") is not None]) == len(t["steps"])
    band = {}  # (step, row) -> its rect there
    for s in t["steps"]:
        pieces = rects(steps[s["index"]])
        pieces = [p for p in pieces if p.get("class") != "frame"]  # the outline of a hatch
        first_row, x0 = x_of(s["start_sample"], n)
        last_row, x1 = x_of(s["end_sample"], n, end=True)
        assert len(pieces) == last_row - first_row + 1
        assert abs(num(pieces[0], "x") - x0) < ROUNDING
        assert abs(num(pieces[-1], "x") + num(pieces[-1], "width") - x1) < 2 * ROUNDING
        massage = t["massage_start_sample"] <= s["start_sample"] < t["massage_end_sample"]
        for row, piece in enumerate(pieces, first_row):
            band[s["index"], row] = piece
            if massage:  # coloured by technique; the pre-roll and aftercare hatched
                assert piece.get("class").split()[-1] == f"t-{s['technique']}"
            else:
                assert piece.get("fill") == "url(#hatch)"

    marks = [e for e in root.iter() if e.get("data-event") is not None]
    ids = [int(k) for mark in marks for k in mark.get("data-event").split()]
    assert sorted(ids) == list(range(len(t["events"])))  # each event in one mark
    for mark in marks:
        events = [t["events"][int(k)] for k in mark.get("data-event").split()]
        if events[0]["role"] == "tick":
            check_ticks(mark, events, n, band)
            continue
        (e,) = events  # anything but rhythm ticks has a mark of its own
        assert mark.get("data-kind") == e["kind"]
        row, x0 = x_of(e["start_sample"], n)
        if e["kind"] == "cue":  # a symbol at its onset, on its step's band
            assert abs(num(mark, "x") - x0) < ROUNDING
            assert num(mark, "y") == num(band[e["step"], row], "y")
            symbol = e["name"] if e["name"] in BUILTIN_CUES else "sound"  # one's own file
            assert mark.get("href") == f"#cue-{symbol}"
            continue
        assert title(mark) == NOT_XML.sub("", e["text"])  # all of it, but what XML cannot hold
        pieces = rects(mark)
        last_row, x1 = x_of(e["end_sample"], n, end=True)
        assert len(pieces) == last_row - row + 1
        assert abs(num(pieces[0], "x") - x0) < ROUNDING
        end = num(pieces[-1], "x") + num(pieces[-1], "width")
        assert x1 - 2 * ROUNDING < end <= max(x1, num(pieces[-1], "x") + MIN_MARK) + 2 * ROUNDING
        for r, piece in enumerate(pieces, row):  # inside its step's band, in the same row
            step_band = band[e["step"], r]
            assert num(step_band, "y") < num(piece, "y")
            bottom = num(piece, "y") + num(piece, "height")
            assert bottom < num(step_band, "y") + num(step_band, "height")


def check_ticks(mark: ET.Element, ticks: list[dict], n: int, band: dict) -> None:
    """Rhythm ticks, merged: one step's in one row, a stroke within TICK_MERGE px of each."""
    assert mark.get("data-kind") == "cue"
    assert {e["role"] for e in ticks} == {"tick"} and len({e["step"] for e in ticks}) == 1
    assert len({x_of(e["start_sample"], n)[0] for e in ticks}) == 1
    row = x_of(ticks[0]["start_sample"], n)[0]
    strokes = re.findall(r"M([\d.]+) ([\d.]+)v([\d.]+)", mark.get("d"))
    assert "".join(f"M{x} {y}v{v}" for x, y, v in strokes) == mark.get("d")
    top = num(band[ticks[0]["step"], row], "y")
    assert all(float(y) + float(v) == top for _, y, v in strokes)  # above the band
    xs = [float(x) for x, _, _ in strokes]
    assert xs == sorted(xs)
    for e in ticks:  # the stroke at or just before the tick's onset
        x = x_of(e["start_sample"], n)[1]
        drawn = xs[max(0, bisect.bisect_right(xs, x + ROUNDING) - 1)]
        assert abs(x - drawn) < TICK_MERGE + ROUNDING


BUILTIN_RUNS = [
    ("classic-back",),
    ("classic-back", "--minutes", "10"),
    ("classic-back", "--minutes", "40", "--ticks"),
    ("classic-back", "--minutes", "180"),
    ("quick-relief",),
    ("quick-relief", "--minutes", "1.5", "--no-safety"),
    ("self-massage",),
    ("self-massage", "--minutes", "25", "--rate", "150"),
]


@pytest.mark.parametrize("args", BUILTIN_RUNS, ids=" ".join)
def test_every_builtin_is_drawn_where_the_json_puts_it(args):
    root, t = preview(*args)
    # The built-ins are framed: a pre-roll and an aftercare outside the massage clock.
    assert t["steps"][0]["end_sample"] <= t["massage_start_sample"] > 0
    assert t["massage_end_sample"] < t["duration_samples"]
    check_picture(root, t)


def test_three_hours_wrap_into_rows_and_steps_keep_one_shape():
    root, t = preview("classic-back", "--minutes", "180")
    n = int(root.get("data-row-samples"))
    assert t["duration_samples"] // n >= 7  # 182 minutes in rows of at most 25
    spanning = [s for s in t["steps"] if s["start_sample"] // n != (s["end_sample"] - 1) // n]
    assert spanning  # the check above saw steps drawn in pieces, in one data-step each
    labels = ["".join(x.itertext()) for x in root.iter(NS + "text")]
    for s in spanning:  # a step's title again in each row it covers, where it fits
        rows = (s["end_sample"] - 1) // n - s["start_sample"] // n + 1
        name = f"{s['index']}. {s['title']}"
        assert sum(label == name for label in labels) >= rows - 1


def test_the_picture_goes_to_a_file_whole(tmp_path):
    out = tmp_path / "session.svg"
    result = coach("preview", "quick-relief", "--format", "svg", "-o", str(out), umask=0o027)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out}\n"
    assert out.stat().st_mode & 0o777 == 0o640  # as any file the user makes
    check_picture(ET.fromstring(out.read_text(encoding="utf-8")), preview("quick-relief")[1])

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    bad = (
        (blocked / "x.svg", "Not a directory"),
        (tmp_path, "Is a directory"),
        (tmp_path / "typo" / "x.svg", "No such file or directory"),
    )
    for target, why in bad:
        result = coach("preview", "quick-relief", "--format", "svg", "-o", str(target))
        assert result.returncode == 2
        assert result.stderr == (
            f"coach: could not write {target}: {why}: choose another place with -o\n"
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "session.svg"]


def test_every_technique_has_its_own_colour():
    assert set(TECHNIQUE_COLOURS) == set(LIBRARY)
    light = [pair[0] for pair in TECHNIQUE_COLOURS.values()]
    dark = [pair[1] for pair in TECHNIQUE_COLOURS.values()]
    assert len(set(light)) == len(light) and len(set(dark)) == len(dark)


# What a routine file can say: any character (TOML's escapes reach control characters too),
# markup included.
words = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=30)


@st.composite
def timelines(draw) -> Timeline:
    """A session of 90 s to 3 h: steps tiling it, and sounds anywhere in them, some across a
    row's end, a routine's own cue file among the built-in ones."""
    lengths = draw(st.lists(st.integers(5 * S, 40 * 60 * S), min_size=1, max_size=12))
    scale = draw(st.integers(90 * S, 3 * 3600 * S)) / sum(lengths)
    bounds = [0]
    for length in lengths:
        bounds.append(max(bounds[-1] + S, bounds[-1] + round(length * scale)))
    techniques = sorted(LIBRARY)
    steps = tuple(
        StepSpan(k, f"Step {k}", draw(st.sampled_from(techniques)), "back", a, b)
        for k, (a, b) in enumerate(itertools.pairwise(bounds))
    )
    events = []
    for step in steps:
        if draw(st.booleans()):  # rhythm ticks, some closer than a pixel
            period = draw(st.integers(S // 2, 3 * S))
            for start in range(step.start, step.end - S // 10, period):
                events.append(Event("cue", start, start + S // 10, step.index, "tick", name="tick"))
        for _ in range(draw(st.integers(0, 6))):
            start = draw(st.integers(step.start, step.end - 1))
            length = draw(st.integers(1, min(12 * S, step.end - start)))
            if draw(st.booleans()):
                text = draw(words)
                events.append(Event("speech", start, start + length, step.index, "reminder", text))
            else:
                name = draw(st.sampled_from([*BUILTIN_CUES, "/home/me/ding.wav"]))
                events.append(Event("cue", start, start + length, step.index, "step", name=name))
    massage = (steps[0].end, steps[-1].start) if len(steps) > 2 else (0, None)
    return Timeline(
        title=draw(words),
        duration=bounds[-1],
        steps=steps,
        events=tuple(sorted(events, key=lambda e: (e.start, e.end))),
        voice="en-us",
        rate=120,
        massage_start=massage[0],
        massage_end=massage[1],
    )


@settings(max_examples=60, deadline=None)
@given(timelines())
def test_any_session_is_drawn_to_the_pixel(timeline):
    check_picture(ET.fromstring(svg(timeline)), timeline.to_dict())


def test_a_phrase_across_a_row_end_is_one_mark_in_two_pieces():
    hour = 3600 * S
    step = StepSpan(1, "Long strokes", "effleurage", "back", 0, hour)
    said = "Keep the strokes long and slow."
    # 60 minutes wrap into rows of 20: this phrase starts 2 s before the first row ends.
    phrase = Event("speech", 20 * 60 * S - 2 * S, 20 * 60 * S + 3 * S, 1, "reminder", said)
    timeline = Timeline("An hour", hour, (step,), (phrase,), voice="en-us", rate=120)
    root = ET.fromstring(svg(timeline))
    assert int(root.get("data-row-samples")) == 20 * 60 * S
    check_picture(root, timeline.to_dict())
    (mark,) = [e for e in root.iter() if e.get("data-event") == "0"]
    assert len(rects(mark)) == 2 and title(mark) == said
