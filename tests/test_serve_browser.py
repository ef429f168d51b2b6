"""`coach serve` in a real browser (headless Chromium through Playwright), with the server
playing into a private PulseAudio null sink that the tests record: what a person at the
massage table sees, presses and hears. One server for the module; every wait is bounded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import numpy as np
import pytest
from playwright.sync_api import expect
from pulse import RATE, PulseServer
from test_player import first_sound
from webserver import Server, wait_for

from coach.resources import scripts_dir
from coach.session import SessionSpec, build, sounds

# One server for the module, playing into the null sink: every test here runs beside it.
pytestmark = pytest.mark.realtime

MS = RATE // 1000
QUICK = scripts_dir() / "quick-relief.toml"


@pytest.fixture(scope="module")
def pulse():
    server = PulseServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(pulse):
    # The suite's cache and voice (conftest), and the private sound server as the device.
    served = Server(env=pulse.env)
    yield served
    code, stderr = served.stop()
    assert code == 0, stderr


def open_page(browser, server, width: int = 1280, height: int = 800):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(60_000)  # a cold synthesis of quick-relief with espeak-ng: ~5 s
    said = []
    page.on("pageerror", lambda e: said.append(str(e)))  # the page's own script failing
    page.goto(server.url)
    expect(page.get_by_label("Routine", exact=True)).to_contain_text("quick-relief")
    page.said = said
    return page


def choose(page, routine: str = "quick-relief", minutes: str = "", safety: bool = False):
    page.get_by_label("Routine", exact=True).select_option(routine)
    page.get_by_label("Minutes").fill(minutes)
    page.get_by_label("Safety questions").set_checked(safety)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#messages")).to_contain_text("ok: ")


def status(page) -> str:
    return page.get_by_role("status").inner_text()


def routine_with_error_on_line_7() -> tuple[str, str]:
    """A short routine, broken on line 7 (a duration no one can read), and the fixed one."""
    lines = [
        'title = "Pasted"',  # 1
        "rate = 160",  # 2
        "",  # 3
        "[[steps]]",  # 4
        'technique = "effleurage"',  # 5
        'area = "upper back"',  # 6
        'duration = "twenty"',  # 7
        'say = "Glide up and out."',  # 8
    ]
    broken = "\n".join(lines) + "\n"
    return broken, broken.replace('"twenty"', '"0:20"')


def test_a_pasted_routine_with_an_error_shows_its_line_and_a_fixed_one_checks(browser, server):
    page = open_page(browser, server)
    broken, fixed = routine_with_error_on_line_7()
    page.get_by_label("Routine file", exact=True).fill(broken)
    page.get_by_role("button", name="Check").click()
    problem = page.locator("#messages li.error").first
    expect(problem).to_have_text(re.compile(r"^7: .*duration"))
    page.get_by_label("Routine file", exact=True).fill(fixed)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#messages")).to_contain_text("ok: Pasted")
    expect(page.locator("#picture svg [data-step]")).to_have_count(3)  # pre-roll, step, aftercare
    assert page.said == []


def test_the_picture_is_the_session_and_redraws_when_an_option_changes(browser, server):
    page = open_page(browser, server)
    choose(page, minutes="3")
    svg = page.locator("#picture svg")
    expect(svg).to_have_attribute("aria-label", re.compile("^Quick relief"))
    steps = page.locator("#picture svg [data-step]")
    expect(steps).to_have_count(8)  # pre-roll, 6 steps, aftercare
    three = page.locator("#summary").inner_text()
    page.get_by_label("Minutes").fill("8")
    page.get_by_label("Minutes").dispatch_event("change")
    expect(page.locator("#summary")).not_to_have_text(three)
    assert page.locator("#summary").inner_text() != three
    # Dark whatever the system's mode: the picture's paper is as dim as the page.
    paper = page.evaluate("getComputedStyle(document.querySelector('#picture svg .paper')).fill")
    assert luminance(paper) < 0.15, paper


def luminance(css: str) -> float:
    r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize(("width", "height"), [(375, 667), (1280, 800)])
def test_it_fits_a_phone_and_reads_from_across_the_room(browser, server, width, height):
    page = open_page(browser, server, width, height)
    # Keyboard: from the top of the page, Tab reaches Play first (the other controls wait
    # for a session), then the form.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Play"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "routine"
    choose(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('step-title')).fontSize)"
    )
    assert size >= 32
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert luminance(background) < 0.05
    for name in ("Play", "Pause", "Next", "Back", "Repeat", "Louder", "Softer", "Stop"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, name  # a knuckle's target


def test_export_to_mp3_downloads_the_chapters_and_offers_the_transcript(browser, server, tmp_path):
    page = open_page(browser, server)
    choose(page, minutes="2")
    steps = server.json("/api/session", {"routine": "quick-relief", "minutes": 2, "safety": False})
    page.get_by_label("Format").select_option("mp3")
    with page.expect_download(timeout=180_000) as download:
        page.get_by_role("button", name="Export").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "quick-relief.mp3"
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(saved)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    chapters = json.loads(probe.stdout)["chapters"]
    assert [c["tags"]["title"] for c in chapters] == [s["title"] for s in steps["steps"]]
    starts = [float(c["start_time"]) for c in chapters]
    assert np.allclose(starts, [s["start"] for s in steps["steps"]], atol=0.001)
    transcript = page.get_by_role("link", name="Transcript (.vtt)")
    expect(transcript).to_be_visible()
    text = page.request.get(server.base + transcript.get_attribute("href")).text()
    assert text.startswith("WEBVTT")
    assert "Rest both hands on the upper back." in text
    assert page.said == []


def at(moment: float) -> float:
    """Sleep until `moment` (monotonic); returns the time it is then."""
    time.sleep(max(0.0, moment - time.monotonic()))
    return time.monotonic()


def heard_onsets(session) -> list[int]:
    """Where each phrase of the pre-roll becomes audible, in session samples: its start plus
    its clip's first loud sample (a soft consonant can open a phrase)."""
    clips = sounds(session)
    return [
        e.start + int(np.argmax(np.abs(clips(e)) > 0.01))
        for e in session.timeline.events
        if e.kind == "speech" and e.step == 0
    ]


def test_play_pause_resume_next_stop_from_two_pages(browser, server, pulse):
    first, second = open_page(browser, server), open_page(browser, server)
    choose(first)  # quick-relief without the health questions: a 52 s pre-roll
    expect(first.locator("#picture svg [data-step]")).to_have_count(8)
    spec = SessionSpec(str(QUICK), safety=False)
    expected = heard_onsets(build(spec, preferred_voice=os.environ["COACH_VOICE"]))
    recorder = pulse.record()
    try:
        first.get_by_role("button", name="Play", exact=True).click()
        t0 = first_sound(recorder, timeout=20)
        for page in (first, second):  # the other page follows within a second
            expect(page.get_by_role("status")).to_contain_text("Before you start", timeout=1000)
        # Pause from the second page, 2 s into the first phrase; resume from the first.
        paused = at(t0 + 2.0)
        second.get_by_role("button", name="Pause", exact=True).click()
        for page in (first, second):
            expect(page.get_by_role("status")).to_contain_text("Paused", timeout=1000)
        resumed = at(paused + 1.0)
        first.get_by_role("button", name="Resume", exact=True).click()
        expect(second.get_by_role("status")).not_to_contain_text("Paused", timeout=1000)
        # Past the third phrase (shifted by the pause), Next: the first step.
        at(t0 + (expected[2] - expected[0]) / RATE + (resumed - paused) + 0.7)
        first.get_by_role("button", name="Next", exact=True).click()
        for page in (first, second):
            expect(page.get_by_role("status")).to_contain_text("Contact", timeout=1000)
        second.get_by_role("button", name="Stop", exact=True).click()
        for page in (first, second):
            expect(page.get_by_role("status")).to_contain_text("Stopped", timeout=1000)
        stopped = time.monotonic()
        at(stopped + 0.5)
    finally:
        capture = recorder.stop()
    heard = np.array(capture.onsets(threshold=0.01))
    # Pause: quiet within 0.5 s of the press, until Resume.
    assert not capture.loud_between(capture.index_at(paused) + RATE // 2, capture.index_at(resumed))
    # Stop: quiet within 0.5 s, and nothing after.
    assert not capture.loud_between(capture.index_at(stopped) + RATE // 2, len(capture.samples))

    def offset(sample: int) -> int:
        """How far the nearest heard onset is from `sample` (session), first phrase aligned."""
        offsets = (heard - heard[0]) - (sample - expected[0])
        return int(offsets[np.argmin(np.abs(offsets))])

    pause_at = capture.index_at(paused) - heard[0] + expected[0]  # about, in session samples
    after = [e for e in expected[1:3] if e > pause_at]
    assert len(after) == 2, (expected, pause_at)
    shifts = [offset(e + round((resumed - paused) * RATE)) for e in after]
    shift = int(np.median(shifts)) + round((resumed - paused) * RATE)
    # After Resume every phrase is where the timeline puts it, shifted by the pause ...
    for e in after:
        assert abs(offset(e + shift)) <= 20 * MS, (e, shift, [offset(x + shift) for x in after])
    # ... and the pause is the time between the presses (less their round trips).
    assert abs(shift / RATE - (resumed - paused)) <= 0.15, (shift / RATE, resumed - paused)
    assert first.said == [] and second.said == []


def test_a_fixed_pasted_routine_plays(browser, server, pulse):
    page = open_page(browser, server)
    _, fixed = routine_with_error_on_line_7()
    page.get_by_label("Routine file", exact=True).fill(fixed)
    page.get_by_label("Safety questions").set_checked(False)
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#messages")).to_contain_text("ok: Pasted")
    recorder = pulse.record()
    try:
        page.get_by_role("button", name="Play", exact=True).click()
        first_sound(recorder, timeout=20)
        expect(page.get_by_role("status")).to_contain_text("Before you start")
        # Softer, then Louder: 3 dB down and back, on the session every page sees.
        for name, volume in (("Softer", -3.0), ("Softer", -6.0), ("Louder", -3.0)):
            page.get_by_role("button", name=name, exact=True).click()
            wait_for(lambda v=volume: server.json("/api/state")["volume_db"] == v, 2)
        page.get_by_role("button", name="Next", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Effleurage", timeout=1000)
        for name in ("Repeat", "Back"):  # the same step, its instruction again
            page.get_by_role("button", name=name, exact=True).click()
            expect(page.get_by_role("status")).to_contain_text("Effleurage")
        page.get_by_role("button", name="Stop", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Stopped", timeout=1000)
    finally:
        capture = recorder.stop()
    assert capture.loud_between(0, len(capture.samples))
