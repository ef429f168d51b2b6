"""The session as one self-contained web page (`coach preview --format html`).

The picture (coach/files/picture.py, inlined, legend included), then the timed script as a
table: the same lines as `--format text`. Pure: a Timeline in, a string out. The page holds
everything it shows: no script, no font, no image or style sheet from anywhere, so opening it
makes no network request. It follows the reader's light or dark mode.
"""

from __future__ import annotations

from coach.files.picture import svg, xml_text
from coach.files.preview import by_step, step_lines, summary
from coach.timeline import Timeline, clock

STYLE = """
:root{color-scheme:light dark;--ink:#1f1f1f;--faint:#6b6b6b;--paper:#fff;--line:#e4e4e4}
@media (prefers-color-scheme:dark){
:root{--ink:#e8e8e8;--faint:#a0a0a0;--paper:#17181a;--line:#333}}
body{margin:0;padding:16px 24px 48px;background:var(--paper);color:var(--ink);
font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
figure{margin:0 -24px 24px;overflow-x:auto}
figure svg{display:block;max-width:100%;height:auto;min-width:900px}
h2{font-size:18px;margin:8px 0}
table{border-collapse:collapse;width:100%;max-width:60em}
th,td{text-align:left;vertical-align:top;padding:3px 12px 3px 0}
tbody th{padding-top:16px;border-bottom:1px solid var(--line)}
.at{color:var(--faint);font-variant-numeric:tabular-nums;white-space:nowrap;width:5em}
.what{color:var(--faint);font-weight:normal}
"""


def html(timeline: Timeline) -> str:
    t = timeline
    return "\n".join(
        [
            "<!doctype html>",
            f'<html lang="{xml_text(t.language)}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{xml_text(t.title)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            f"<figure>{svg(t)}</figure>",
            f"<h2>The script</h2><p>{xml_text(t.title)}: {xml_text(summary(t))}</p>",
            _table(t),
            *(f"<p>note: {xml_text(n)}</p>" for n in t.notes),
            "</body>",
            "</html>",
            "",
        ]
    )


def _table(t: Timeline) -> str:
    """One section a step: its heading row, then each sound at its time."""
    rate = t.sample_rate
    events = by_step(t)
    out = ["<table>"]
    for step in t.steps:
        span = f"{clock(step.start, rate)}–{clock(step.end, rate)}"
        if t.is_massage(step):
            name = f"{step.index}. {xml_text(step.title)}"
            what = f" <span class=what>{xml_text(step.technique)}, {xml_text(step.area)}</span>"
        else:
            name, what = xml_text(step.title), ""
        out.append(
            f'<tbody id="step-{step.index}"><tr><th class="at">{span}</th>'
            f"<th>{name}{what}</th></tr>"
        )
        for start, text in step_lines(t, events.get(step.index, [])):
            at = clock(start, rate, tenths=True)
            out.append(f'<tr><td class="at">{at}</td><td>{xml_text(text)}</td></tr>')
        out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)
