"""The picture of a session (`coach preview --format svg`): every step and every sound drawn
where the JSON timeline puts it, to the pixel, with the words it speaks.

The geometry is the contract coach/files/picture.py documents: rows of `data-row-samples`
samples, x = LEFT + (sample - row * N) * PLOT_WIDTH / N. The checks here parse the SVG as a
tool would and compare it with `preview --format json` for the same routine and options.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.files.picture import LEFT, MIN_MARK, PLOT_WIDTH, TECHNIQUE_COLOURS, svg
from coach.resources import BUILTIN_CUES
from coach.script.techniques import LIBRARY
from coach.timeline import SAMPLE_RATE as S
from coach.timeline import Event, StepSpan, Timeline

NS = "{http://www.w3.org/2000/svg}"
# Written to 0.01 px: a position may differ from the exact one by half of that.
ROUNDING = 0.006


def coach(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
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
    return element.find(NS + "title").text


def check_picture(root: ET.Element, t: dict) -> None:
    """Everything the picture promises about the timeline `t` (the JSON's dict)."""
    assert root.get("role") == "img"
    assert t["title"] in root.get("aria-label")
    assert float(root.get("width")) <= 1200  # a laptop screen
    n = int(root.get("data-row-samples"))
    assert n <= 25 * 60 * t["sample_rate"]  # rows of at most 25 minutes: 46 px a minute
    text = " ".join("".join(e.itertext()) for e in root.iter(NS + "text"))
    assert t["title"] in text
    assert (t["voice"] in text and f"{t['rate']} words a minute" in text) or t["estimated"]

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
    assert sorted(int(e.get("data-event")) for e in marks) == list(range(len(t["events"])))
    for mark in marks:
        e = t["events"][int(mark.get("data-event"))]
        assert mark.get("data-kind") == e["kind"]
        row, x0 = x_of(e["start_sample"], n)
        if e["kind"] == "cue":  # a symbol at its onset, on its step's band
            assert abs(num(mark, "x") - x0) < ROUNDING
            assert num(mark, "y") == num(band[e["step"], row], "y")
            symbol = e["name"] if e["name"] in BUILTIN_CUES else "sound"  # one's own file
            assert mark.get("href") == f"#cue-{symbol}"
            continue
        assert title(mark) == e["text"]
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
    result = coach("preview", "quick-relief", "--format", "svg", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {out}\n"
    check_picture(ET.fromstring(out.read_text(encoding="utf-8")), preview("quick-relief")[1])

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    result = coach("preview", "quick-relief", "--format", "svg", "-o", str(blocked / "x.svg"))
    assert result.returncode != 0
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert str(blocked) in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "session.svg"]


def test_every_technique_has_its_own_colour():
    assert set(TECHNIQUE_COLOURS) == set(LIBRARY)
    light = [pair[0] for pair in TECHNIQUE_COLOURS.values()]
    dark = [pair[1] for pair in TECHNIQUE_COLOURS.values()]
    assert len(set(light)) == len(light) and len(set(dark)) == len(dark)


# What a routine file can say (its loader refuses control characters), markup included.
words = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)


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
