"""The picture and the page in a real browser (headless Chromium through Playwright): they load
with no console error and no network request, and follow the reader's light or dark mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def coach(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        env=os.environ,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def visit(browser, path: Path, scheme: str):
    """The page at `path` as a reader in `scheme` mode sees it, with what it logged and
    asked for over the network."""
    page = browser.new_page(color_scheme=scheme, viewport={"width": 1280, "height": 800})
    said, asked = [], []
    page.on("console", lambda m: said.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: said.append(f"pageerror: {e}"))
    page.on("request", lambda r: asked.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("networkidle")
    return page, said, asked


def luminance(css: str) -> float:
    """Rough lightness 0..1 of a computed `rgb(r, g, b)` colour."""
    r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize(
    ("routine", "options"),
    [("classic-back", []), ("self-massage", ["--minutes", "45", "--ticks"])],
)
def test_the_page_loads_alone_in_light_and_dark(browser, tmp_path, routine, options):
    out = tmp_path / "session.html"
    coach("preview", routine, *options, "--format", "html", "-o", str(out))
    timeline = json.loads(coach("preview", routine, *options, "--format", "json"))
    seen = {}
    for scheme in ("light", "dark"):
        page, said, asked = visit(browser, out, scheme)
        assert said == []
        assert asked == [out.as_uri()]  # the page itself, nothing else
        picture = page.locator("svg[role=img]")
        assert timeline["title"] in picture.get_attribute("aria-label")
        # Readable on a laptop: the whole picture fits the window's width.
        assert picture.bounding_box()["width"] <= 1280
        # Each step's title, where drawn, fits in its band (as this browser sets the text).
        overflowing = page.evaluate(
            """() => [...document.querySelectorAll('svg [data-step]')].flatMap(g => {
                const bands = [...g.querySelectorAll('rect')].map(r => r.getBBox());
                return [...g.querySelectorAll('text')].map(t => [t.textContent, t.getBBox()])
                    .filter(([, b]) => !bands.some(r => r.y <= b.y && b.y < r.y + r.height
                        && r.x <= b.x && b.x + b.width <= r.x + r.width))
                    .map(([text]) => text);
            })"""
        )
        assert overflowing == []
        table = page.locator("table").inner_text()
        for event in timeline["events"]:
            if event["kind"] == "speech":
                assert event["text"] in table
        seen[scheme] = page.evaluate(
            """() => [
                getComputedStyle(document.body).backgroundColor,
                getComputedStyle(document.body).color,
                getComputedStyle(document.querySelector('svg .paper')).fill,
                getComputedStyle(document.querySelector('svg text')).fill,
                getComputedStyle(document.querySelector('svg [data-step="1"] rect')).fill,
            ]"""
        )
        page.close()
    light, dark = seen["light"], seen["dark"]
    assert luminance(light[0]) > 0.9 and luminance(light[1]) < 0.3
    assert luminance(dark[0]) < 0.15 and luminance(dark[1]) > 0.8
    assert luminance(light[2]) > 0.9 and luminance(dark[2]) < 0.15  # the picture's paper
    assert luminance(light[3]) < 0.3 and luminance(dark[3]) > 0.8  # its words
    assert luminance(light[4]) > luminance(dark[4]) + 0.3  # its bands: pastel, then deep


def test_the_svg_alone_loads_with_no_error_and_no_request(browser, tmp_path):
    out = tmp_path / "session.svg"
    coach("preview", "quick-relief", "--format", "svg", "-o", str(out))
    page, said, asked = visit(browser, out, "dark")
    assert said == [] and asked == [out.as_uri()]
    paper = page.evaluate("getComputedStyle(document.querySelector('.paper')).fill")
    assert luminance(paper) < 0.15
    page.close()
