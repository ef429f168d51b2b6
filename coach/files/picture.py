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
- Every event is one element with `data-event="K"` (K: its position in the JSON's `events`)
  and `data-kind`. Nothing is merged away, so `[data-event="K"]` always finds exactly one
  element: a speech phrase is a `<rect>` (a `<g>` of rects if it crosses into the next row)
  at least `MIN_MARK` px wide, its `<title>` the words spoken; a cue is a `<use>` of its
  symbol with `x` at its onset. A cue is only a symbol, so a second of rhythm ticks costs a
  few short elements, not a drawing each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

from coach.files.preview import summary
from coach.resources import BUILTIN_CUES
from coach.timeline import Event, StepSpan, Timeline, clock

WIDTH = 1200  # a laptop screen's width, in px
LEFT = 24
PLOT_WIDTH = WIDTH - 2 * LEFT
MAX_ROW_MINUTES = 25  # 46 px a minute: a 1-second phrase is still most of a pixel
MIN_MARK = 1.0  # px: the narrowest speech mark drawn ("Stay still." is 0.6 px at 25 min)
ROOT_CLASS = "coach-picture"
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

# Band colours by technique, (light mode, dark mode): families of technique share a hue.
TECHNIQUE_COLOURS = {
    "contact": ("#cfe3f5", "#2b4a66"),
    "oil": ("#f6e3b4", "#6b5624"),
    "effleurage": ("#bfe3c9", "#2f5c3c"),
    "petrissage": ("#f7c6a3", "#7a4526"),
    "tapotement": ("#f3b6c4", "#74364a"),
    "friction": ("#e9c2f0", "#5e3a6a"),
    "vibration": ("#c9c6f5", "#3f3c78"),
    "thumb-press": ("#f2a7a0", "#7c3a33"),
    "stretch": ("#b8e6e0", "#245e58"),
    "rest": ("#e0e0e0", "#4a4a4a"),
    "tennis-ball": ("#e6f0a0", "#5c6324"),
    "foam-roller": ("#a9d6f5", "#24557a"),
    "cat-cow": ("#f5c9e6", "#6e335b"),
    "childs-pose": ("#d4e8b0", "#4b6128"),
    "knee-hug": ("#f0d9c0", "#66513a"),
}
OTHER_COLOURS = ("#dddddd", "#555555")  # a technique added without a colour here

# Cue symbols, drawn with the onset at (0, 0) on the band's top edge: a stem through the band
# and a head in the lane above it; each cue name its own shape and colour.
CUE_SYMBOLS = {
    "chime": '<path d="M-4.5-11h9l-4.5 8z"/>',
    "bell": '<circle cy="-7" r="4.5"/>',
    "gong": '<circle cy="-7" r="6"/><circle cy="-7" r="2.5" class="coach-cue-hole"/>',
    "countdown": '<rect x="-3.5" y="-10.5" width="7" height="7"/>',
    "tick": '<rect x="-0.5" y="-6" width="1" height="6"/>',
    "sound": '<path d="M0-13l5 6-5 6-5-6z"/>',  # a routine's own sound file
}
# Why a cue sounds (its role in the timeline), for its tooltip.
CUE_ROLES = {"step": "new step", "tick": "rhythm", "end": "the end"}
CUE_COLOURS = {
    "chime": ("#c26a00", "#ffb454"),
    "bell": ("#b3261e", "#ff8a80"),
    "gong": ("#6a3fb5", "#c7a8ff"),
    "countdown": ("#0f766e", "#5eead4"),
    "tick": ("#666666", "#aaaaaa"),
    "sound": ("#1f5fae", "#8ab8ff"),
}
INK = ("#1f1f1f", "#e8e8e8")
FAINT = ("#6b6b6b", "#a0a0a0")
PAPER = ("#ffffff", "#17181a")
SPEECH = ("#23395d", "#e3ecf8")


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
    body += [_event(k, e, rows) for k, e in enumerate(t.events)]
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
            f"<title>{escape(label)}</title>",
            _defs(techniques),
            f'<rect class="paper" width="{WIDTH}" height="{height}"/>',
            *body,
            legend,
            "</svg>",
            "",
        ]
    )


def _attr(value: str) -> str:
    return '"' + escape(value, {'"': "&quot;"}) + '"'


def _num(x: float) -> str:
    """A coordinate to 0.01 px, without trailing zeros (keeps the file small)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _technique_class(technique: str) -> str:
    return f"t-{technique}" if technique in TECHNIQUE_COLOURS else "t-other"


def _cue_symbol(e: Event) -> str:
    return e.name if e.name in BUILTIN_CUES else "sound"


def _style() -> str:
    """The style sheet: shapes, then colours, light by default and dark where the reader's
    system asks for it. Every rule is scoped to the picture: inlined in a page (`--format
    html`, the web app), it must not restyle the page's own elements."""
    shapes = (
        "{font:11px system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}",
        " .title{font-weight:600;font-size:18px}",
        " .sub{font-size:12px}",
        " .s{fill-opacity:.8}",
        " .s:hover{fill-opacity:1}",
        " .frame{fill:none;stroke-dasharray:3 3}",
        " .rule{fill:none}",
        " .hatch{stroke-width:1.5;stroke-opacity:.5}",
    )
    colours: list[tuple[str, str, tuple[str, str]]] = [
        (".paper", "fill", PAPER),
        ("text", "fill", INK),
        (".faint", "fill", FAINT),
        (".s", "fill", SPEECH),
        (".rule", "stroke", FAINT),
        (".hatch", "stroke", FAINT),
        (".frame", "stroke", FAINT),
        (".t-other", "fill", OTHER_COLOURS),
    ]
    colours += [(f".t-{name}", "fill", pair) for name, pair in TECHNIQUE_COLOURS.items()]
    root = f".{ROOT_CLASS} "
    colours = [(root + sel, prop, pair) for sel, prop, pair in colours]
    # Not scoped: a `<use>` copies its symbol out of the picture's tree, where Chromium
    # matches no ancestor selector; the class names are the picture's own instead.
    colours.append((".coach-cue-hole", "fill", PAPER))
    colours += [(f".coach-cue-{name}", "fill", pair) for name, pair in CUE_COLOURS.items()]
    colours += [(f".coach-cue-{n} line", "stroke", pair) for n, pair in CUE_COLOURS.items()]
    light = "".join(f"{sel}{{{prop}:{pair[0]}}}" for sel, prop, pair in colours)
    dark = "".join(f"{sel}{{{prop}:{pair[1]}}}" for sel, prop, pair in colours)
    rules = "".join(f".{ROOT_CLASS}{rule}" for rule in shapes)
    return f"<style>{rules}{light}@media (prefers-color-scheme:dark){{{dark}}}</style>"


def _defs(techniques: list[str]) -> str:
    symbols = []
    for name, shape in CUE_SYMBOLS.items():
        stem = f'<line y2="{BAND_HEIGHT}" stroke-opacity=".7"/>' if name != "tick" else ""
        symbols.append(f'<g id="cue-{name}" class="coach-cue-{name}">{stem}{shape}</g>')
    return (
        "<defs>"
        + _style()
        + '<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line class="hatch" x1="0" y1="0" x2="0" y2="8"/>'
        "</pattern>" + "".join(symbols) + "</defs>"
    )


def _header(t: Timeline) -> str:
    return (
        f'<text class="title" x="{LEFT}" y="26">{escape(t.title)}</text>'
        f'<text class="sub faint" x="{LEFT}" y="46">{escape(summary(t))}</text>'
    )


def _fit(text: str, width: float) -> str:
    """`text`, shortened with an ellipsis to fit `width` px, or "" where too little fits."""
    room = int((width - 8) // CHAR_WIDTH)
    if len(text) <= room:
        return text
    return text[: room - 1].rstrip() + "…" if room >= 5 else ""


def _step(t: Timeline, s: StepSpan, rows: Rows) -> str:
    massage = t.is_massage(s)
    parts = rows.pieces(s.start, s.end)
    shapes = []
    for row, x0, x1 in parts:
        y = rows.top(row) + BAND_TOP
        geometry = f'x="{_num(x0)}" y="{y}" width="{_num(x1 - x0)}" height="{BAND_HEIGHT}"'
        if massage:
            shapes.append(f'<rect class="band {_technique_class(s.technique)}" {geometry}/>')
        else:  # before and after the massage: hatched, outside the massage clock
            shapes.append(f'<rect fill="url(#hatch)" {geometry}/>')
            shapes.append(f'<rect class="frame" {geometry}/>')
    name = f"{s.index}. {s.title}" if massage else s.title
    for row, x0, x1 in parts:  # labelled in every row it covers, where the name fits
        if label := _fit(name, x1 - x0):
            y = rows.top(row) + BAND_TOP + LABEL_Y
            shapes.append(f'<text x="{_num(x0 + 4)}" y="{y}">{escape(label)}</text>')
    span = f"{clock(s.start, t.sample_rate)}–{clock(s.end, t.sample_rate)}"
    about = f"{name} ({s.technique}, {s.area}), {span}" if massage else f"{name}, {span}"
    return f'<g data-step="{s.index}">{"".join(shapes)}<title>{escape(about)}</title></g>'


def _event(k: int, e: Event, rows: Rows) -> str:
    ids = f'data-event="{k}" data-kind="{e.kind}"'
    if e.kind == "cue":
        row = e.start // rows.samples
        x, y = rows.x(e.start, row), rows.top(row) + BAND_TOP
        symbol = _cue_symbol(e)
        what = f"{e.name.rsplit('/', 1)[-1]}: {CUE_ROLES.get(e.role, e.role)}"
        return (
            f'<use {ids} href="#cue-{symbol}" x="{_num(x)}" y="{y}">'
            f"<title>{escape(what)}</title></use>"
        )
    rects = []
    for row, x0, x1 in rows.pieces(e.start, e.end):
        y = rows.top(row) + BAND_TOP + SPEECH_TOP
        w = max(x1 - x0, MIN_MARK)
        rects.append(f'x="{_num(x0)}" y="{y}" width="{_num(w)}" height="{SPEECH_HEIGHT}"')
    title = f"<title>{escape(e.text)}</title>"
    if len(rects) == 1:
        return f'<rect class="s" {ids} {rects[0]}>{title}</rect>'
    inner = "".join(f"<rect {r}/>" for r in rects)
    return f'<g class="s" {ids}>{inner}{title}</g>'


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
        swatch = f'<rect class="{_technique_class(name)}" y="-10" width="18" height="12"/>'
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
        items.append((head, name if name != "sound" else "your own sound"))
    out, x, y = [], LEFT, top + 14
    for swatch, text in items:
        width = 26 + len(text) * CHAR_WIDTH + 18
        if x + width > WIDTH - LEFT and x > LEFT:
            x, y = LEFT, y + 20
        out.append(
            f'<g transform="translate({_num(x)} {y})">{swatch}'
            f'<text x="24">{escape(text)}</text></g>'
        )
        x += width
    return '<g class="legend">' + "".join(out) + "</g>", y - top + 8
