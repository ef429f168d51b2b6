"""A picture of the session: the timeline drawn as one standalone SVG.

Pure: `svg(timeline)` takes a `Timeline` and returns the SVG text; no I/O, no fonts or scripts
from outside (system sans-serif, colours in an inline style sheet that follows the reader's
light or dark mode).

The geometry is a contract, for the tests and for tools that read the picture:

- The session wraps into rows of `N` samples each, `N` being the root's `data-row-samples`
  (one row of exactly the session up to `MAX_ROW_MINUTES`; beyond, rows of whole minutes).
- A mark that starts at sample `s` starts in row `s // N` at
  `x = LEFT + (s - row * N) * PLOT_WIDTH / N`; one that ends at sample `e` ends in row
  `(e - 1) // N` at the same function of `e`. Coordinates are written to 0.01 px.
- Every step is one `<g data-step="K">` (K: its `index` in `preview --format json`) holding a
  `<rect>` per row it covers, in order, then its label where it fits, and its `<title>`.
- Every event is in exactly one element's `data-event` (K: its position in the JSON's
  `events`), with `data-kind` ("speech" or "cue"); `[data-event~="K"]` finds it. A speech
  phrase is a `<rect>` (a `<g>` of rects if it crosses into the next row) at least
  `MIN_MARK` px wide, its `<title>` the words spoken. A cue is a `<use>` of its symbol with
  `x` at its onset. Only rhythm ticks (`--ticks`) are merged: a step's ticks in one row are
  one `<path class="ticks">` listing their positions space-separated in `data-event`, a
  stroke at each onset (`M x y`), ticks within `TICK_MERGE` px of the last stroke sharing it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from coach.files.picture_style import (
    CUE_SYMBOLS,
    ROOT_CLASS,
    defs,
    technique_class,
)
from coach.files.preview import summary
from coach.resources import BUILTIN_CUES
from coach.timeline import Event, StepSpan, Timeline, clock

WIDTH = 1200  # a laptop screen's width, in px
LEFT = 24
PLOT_WIDTH = WIDTH - 2 * LEFT
MAX_ROW_MINUTES = 25  # 46 px a minute: a 1-second phrase is still most of a pixel
MIN_MARK = 1.0  # px: the narrowest speech mark drawn ("Stay still." is 0.6 px at 25 min)
TICK_HEIGHT = 6  # px: a rhythm tick's stroke, above the band
TICK_MERGE = 0.5  # px: a tick this close to the last one drawn adds no stroke of its own
HEADER = 64
ROW_HEIGHT = 116
# Within a row, from its top: the cue symbols' lane, the band, the speech lane in the band,
# the massage clock's line and the axis below it.
BAND_TOP, BAND_HEIGHT = 14, 48
LABEL_Y = 14  # baseline of a step's title, from the band's top
SPEECH_TOP, SPEECH_HEIGHT = 24, 18
CLOCK_Y = BAND_TOP + BAND_HEIGHT + 6
AXIS_Y = CLOCK_Y + 20
CHAR_WIDTH = 6.3  # px: a wide average letter of 11 px system sans-serif, so labels fit
MIN_TICK_GAP = 64  # px between labelled ticks on the axis
TICK_SECONDS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
# Why a cue sounds (its role in the timeline), for its tooltip.
CUE_ROLES = {"step": "new step", "tick": "rhythm", "end": "the end"}
CUE_LEGEND = {"tick": "rhythm tick", "sound": "your own sound"}


@dataclass(frozen=True)
class Rows:
    """Where samples go: rows of `samples` each (see the module's docstring)."""

    samples: int
    count: int

    @classmethod
    def of(cls, duration: int, rate: int) -> Rows:
        duration = max(duration, 1)
        longest = MAX_ROW_MINUTES * 60 * rate
        if duration <= longest:
            return cls(duration, 1)
        minute = 60 * rate
        samples = math.ceil(duration / math.ceil(duration / longest) / minute) * minute
        return cls(samples, math.ceil(duration / samples))

    def x(self, sample: int, row: int) -> float:
        return LEFT + (sample - row * self.samples) * PLOT_WIDTH / self.samples

    def pieces(self, start: int, end: int) -> list[tuple[int, float, float]]:
        """(row, x from, x to) of [start, end) in each row it covers, in order."""
        first, last = start // self.samples, max(start, end - 1) // self.samples
        out = []
        for row in range(first, last + 1):
            a = max(start, row * self.samples)
            b = min(max(end, start), (row + 1) * self.samples)
            out.append((row, self.x(a, row), self.x(b, row)))
        return out

    def top(self, row: int) -> int:
        return HEADER + row * ROW_HEIGHT


def svg(timeline: Timeline) -> str:
    """The session as one standalone SVG document (no XML declaration, so it can be inlined
    in HTML as it is)."""
    t = timeline
    rows = Rows.of(t.duration, t.sample_rate)
    techniques = list(dict.fromkeys(s.technique for s in t.massage_steps()))
    cue_names = list(dict.fromkeys(_cue_symbol(e) for e in t.events if e.kind == "cue"))
    body = [_header(t)]
    body += [_step(t, s, rows) for s in t.steps]
    body += _massage_clock(t, rows)
    body += _axis(t, rows)
    body += [_event(k, e, rows) for k, e in enumerate(t.events) if e.role != "tick"]
    body += _ticks(t, rows)
    legend_top = rows.top(rows.count) + 8
    legend, legend_height = _legend(techniques, cue_names, t.steps != t.massage_steps(), legend_top)
    height = legend_top + legend_height + 12
    label = f"{t.title}: a picture of the session, {clock(t.duration, t.sample_rate)} long"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="{ROOT_CLASS}" width="{WIDTH}" '
            f'height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label={_attr(label)} '
            f'data-row-samples="{rows.samples}" data-sample-rate="{t.sample_rate}">',
            f"<title>{xml_text(label)}</title>",
            defs(BAND_HEIGHT),
            f'<rect class="paper" width="{WIDTH}" height="{height}"/>',
            *body,
            legend,
            "</svg>",
            "",
        ]
    )


# Characters XML 1.0 cannot hold at all, escaped or not; a routine's words may carry them
# (TOML's "\u0001"), and one would make the whole picture unreadable to a browser.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """`value` as XML character data: escaped, without the characters XML cannot hold, and
    with a carriage return kept as one (a parser reads a bare one as a line feed)."""
    return escape(NOT_XML.sub("", value), {"\r": "&#13;"})


def _attr(value: str) -> str:
    """`value` as a quoted attribute; its line breaks and tabs kept (a parser reads them as
    spaces)."""
    kept = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
    return '"' + escape(NOT_XML.sub("", value), kept) + '"'


def _num(x: float) -> str:
    """A coordinate to 0.01 px, without trailing zeros (keeps the file small)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _cue_symbol(e: Event) -> str:
    return e.name if e.name in BUILTIN_CUES else "sound"


def _header(t: Timeline) -> str:
    return (
        f'<text class="title" x="{LEFT}" y="26">{xml_text(t.title)}</text>'
        f'<text class="sub faint" x="{LEFT}" y="46">{xml_text(summary(t))}</text>'
    )


def _fit(text: str, width: float, short: str = "") -> str:
    """`text`, shortened with an ellipsis to fit `width` px; `short` (a step's number) where
    too little of it would fit; "" where nothing fits."""
    room = int((width - 8) // CHAR_WIDTH)
    if len(text) <= room:
        return text
    if room >= 8:
        return text[: room - 1].rstrip() + "…"
    return short if len(short) <= room else ""


def _step(t: Timeline, s: StepSpan, rows: Rows) -> str:
    massage = t.is_massage(s)
    parts = rows.pieces(s.start, s.end)
    shapes = []
    for row, x0, x1 in parts:
        y = rows.top(row) + BAND_TOP
        geometry = f'x="{_num(x0)}" y="{y}" width="{_num(x1 - x0)}" height="{BAND_HEIGHT}"'
        if massage:
            shapes.append(f'<rect class="band {technique_class(s.technique)}" {geometry}/>')
        else:  # before and after the massage: hatched, outside the massage clock
            shapes.append(f'<rect fill="url(#hatch)" {geometry}/>')
            shapes.append(f'<rect class="frame" {geometry}/>')
    name = f"{s.index}. {s.title}" if massage else s.title
    for row, x0, x1 in parts:  # labelled in every row it covers, where the name fits
        if label := _fit(name, x1 - x0, str(s.index) if massage else ""):
            y = rows.top(row) + BAND_TOP + LABEL_Y
            shapes.append(f'<text x="{_num(x0 + 4)}" y="{y}">{xml_text(label)}</text>')
    span = f"{clock(s.start, t.sample_rate)}–{clock(s.end, t.sample_rate)}"
    about = f"{name} ({s.technique}, {s.area}), {span}" if massage else f"{name}, {span}"
    return f'<g data-step="{s.index}">{"".join(shapes)}<title>{xml_text(about)}</title></g>'


def _event(k: int, e: Event, rows: Rows) -> str:
    ids = f'data-event="{k}" data-kind="{e.kind}"'
    if e.kind == "cue":
        row = e.start // rows.samples
        x, y = rows.x(e.start, row), rows.top(row) + BAND_TOP
        symbol = _cue_symbol(e)
        what = f"{e.name.rsplit('/', 1)[-1]}: {CUE_ROLES.get(e.role, e.role)}"
        return (
            f'<use {ids} href="#cue-{symbol}" x="{_num(x)}" y="{y}">'
            f"<title>{xml_text(what)}</title></use>"
        )
    rects = []
    for row, x0, x1 in rows.pieces(e.start, e.end):
        y = rows.top(row) + BAND_TOP + SPEECH_TOP
        w = max(x1 - x0, MIN_MARK)
        rects.append(f'x="{_num(x0)}" y="{y}" width="{_num(w)}" height="{SPEECH_HEIGHT}"')
    title = f"<title>{xml_text(e.text)}</title>"
    if len(rects) == 1:
        return f'<rect class="s" {ids} {rects[0]}>{title}</rect>'
    inner = "".join(f"<rect {r}/>" for r in rects)
    return f'<g class="s" {ids}>{inner}{title}</g>'


def _ticks(t: Timeline, rows: Rows) -> list[str]:
    """The rhythm ticks of each step in each row as one mark: a stroke at each onset, under a
    `data-event` listing them all. At friction's tempo (60 a minute) they fall 0.77 px apart
    at 25 minutes a row; one `<use>` each made a 3-hour session's picture 372 KB."""
    by_row: dict[tuple[int, int], list[tuple[int, Event]]] = {}
    for k, e in enumerate(t.events):
        if e.role == "tick":
            by_row.setdefault((e.step, e.start // rows.samples), []).append((k, e))
    out = []
    for (_, row), ticks in by_row.items():
        y = rows.top(row) + BAND_TOP - TICK_HEIGHT
        strokes, drawn = [], -1.0
        for _, e in ticks:
            x = rows.x(e.start, row)
            if x - drawn >= TICK_MERGE:  # closer ones share the stroke already drawn
                strokes.append(f"M{_num(x)} {y}v{TICK_HEIGHT}")
                drawn = x
        ids = " ".join(str(k) for k, _ in ticks)
        out.append(
            f'<path class="ticks" data-event="{ids}" data-kind="cue" d="{"".join(strokes)}">'
            f"<title>rhythm: {len(ticks)} ticks</title></path>"
        )
    return out


def _massage_clock(t: Timeline, rows: Rows) -> list[str]:
    """A line under the massage's own steps, with the massage clock at its start and end, so
    the spoken pre-roll and the aftercare stand apart from it."""
    if t.massage_steps() == t.steps:
        return []
    out = []
    for row, x0, x1 in rows.pieces(t.massage_start, t.massage_end):
        y = rows.top(row) + CLOCK_Y
        out.append(f'<path class="rule" d="M{_num(x0)} {y - 3}v3H{_num(x1)}v-3"/>')
    length = clock(t.massage_end - t.massage_start, t.sample_rate)
    first = t.massage_start // rows.samples
    last = (t.massage_end - 1) // rows.samples
    x = rows.x(t.massage_start, first)
    out.append(
        f'<text class="faint" x="{_num(x + 3)}" y="{rows.top(first) + CLOCK_Y + 11}">'
        "massage 0:00</text>"
    )
    x = rows.x(t.massage_end, last)
    out.append(
        f'<text class="faint" x="{_num(x - 3)}" y="{rows.top(last) + CLOCK_Y + 11}" '
        f'text-anchor="end">{length}</text>'
    )
    return out


def _axis(t: Timeline, rows: Rows) -> list[str]:
    """Session time under each row: a labelled tick every few minutes, small ones between."""
    rate = t.sample_rate
    px_per_second = PLOT_WIDTH * rate / rows.samples
    step = next((s for s in TICK_SECONDS if s * px_per_second >= MIN_TICK_GAP), TICK_SECONDS[-1])
    minor = step // 5 if step >= 300 else step // 2 if step >= 60 else 0
    out = []
    for row in range(rows.count):
        first = row * rows.samples
        last = min(t.duration, first + rows.samples)
        y = rows.top(row) + AXIS_Y
        out.append(f'<path class="rule" d="M{LEFT} {y}H{_num(rows.x(last, row))}"/>')
        ticks = []
        every = minor or step
        for second in range(math.ceil(first / rate / every) * every, last // rate + 1, every):
            x = _num(rows.x(second * rate, row))
            labelled = second % step == 0
            ticks.append(f"M{x} {y}v{6 if labelled else 3}")
            if labelled:
                out.append(
                    f'<text class="faint" x="{x}" y="{y + 17}" text-anchor="middle">'
                    f"{clock(second * rate, rate)}</text>"
                )
        out.append(f'<path class="rule" d="{"".join(ticks)}"/>')
    return out


def _legend(techniques: list[str], cues: list[str], framed: bool, top: int) -> tuple[str, int]:
    """The key to the colours and symbols, as items flowing in lines; and its height."""
    items = []
    for name in techniques:
        swatch = f'<rect class="{technique_class(name)}" y="-10" width="18" height="12"/>'
        items.append((swatch, name))
    if framed:
        swatch = (
            '<rect fill="url(#hatch)" y="-10" width="18" height="12"/>'
            '<rect class="frame" y="-10" width="18" height="12"/>'
        )
        items.append((swatch, "before and after the massage"))
    items.append(('<rect class="s" y="-9" width="18" height="10"/>', "speech (hover: the words)"))
    for name in cues:  # the head alone: the stem would cross the line below
        head = f'<g class="coach-cue-{name}" transform="translate(9 3)">{CUE_SYMBOLS[name]}</g>'
        items.append((head, CUE_LEGEND.get(name, name)))
    out, x, y = [], LEFT, top + 14
    for swatch, text in items:
        width = 26 + len(text) * CHAR_WIDTH + 18
        if x + width > WIDTH - LEFT and x > LEFT:
            x, y = LEFT, y + 20
        out.append(
            f'<g transform="translate({_num(x)} {y})">{swatch}'
            f'<text x="24">{xml_text(text)}</text></g>'
        )
        x += width
    return '<g class="legend">' + "".join(out) + "</g>", y - top + 8
