"""How the picture of a session looks: its colours, in light and in dark mode, and its cue
symbols, as one inline style sheet and a few shared shapes (coach/files/picture.py draws).

Every rule is scoped to the picture's root class, so a page that inlines the picture
(`--format html`, the web app) keeps its own styles.
"""

from __future__ import annotations

ROOT_CLASS = "coach-picture"

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
        (".ticks", "stroke", CUE_COLOURS["tick"]),
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


def defs(band_height: int) -> str:
    """The style sheet, the hatch of the pre-roll and aftercare, and the cue symbols, whose
    stem reaches down through the band."""
    symbols = []
    for name, shape in CUE_SYMBOLS.items():
        stem = f'<line y2="{band_height}" stroke-opacity=".7"/>' if name != "tick" else ""
        symbols.append(f'<g id="cue-{name}" class="coach-cue-{name}">{stem}{shape}</g>')
    return (
        "<defs>"
        + _style()
        + '<pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line class="hatch" x1="0" y1="0" x2="0" y2="8"/>'
        "</pattern>" + "".join(symbols) + "</defs>"
    )


def technique_class(technique: str) -> str:
    return f"t-{technique}" if technique in TECHNIQUE_COLOURS else "t-other"
