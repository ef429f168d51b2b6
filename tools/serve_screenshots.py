"""The screenshots of `coach serve` in docs/: the page at 1280x800 and at 375x667 (a phone),
paused in the first step of quick-relief. The server plays into a private PulseAudio null
sink (tests/pulse.py), so nothing is heard and no sound card is needed.

    .venv/bin/python tools/serve_screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pulse import PulseServer  # noqa: E402
from webserver import Server  # noqa: E402

CHROMIUM = "/usr/bin/chromium-headless-shell"
SIZES = {"serve-laptop.png": (1280, 800), "serve-phone.png": (375, 667)}


def main() -> None:
    pulse = PulseServer().start()
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="coach-shots-"))
    # espeak-ng speaks in a second what Piper takes minutes for on a cold cache; the page
    # looks the same either way.
    os.environ.setdefault("COACH_VOICE", "en-us")
    server = Server(env=pulse.env)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            pages = {}
            for name, (width, height) in SIZES.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.set_default_timeout(120_000)
                page.goto(server.url)
                expect(page.get_by_label("Routine", exact=True)).to_contain_text("quick-relief")
                pages[name] = page
            page = pages["serve-laptop.png"]
            page.get_by_label("Routine", exact=True).select_option("quick-relief")
            page.get_by_label("Safety questions").set_checked(False)
            page.get_by_role("button", name="Check").click()
            expect(page.locator("#messages")).to_contain_text("ok: ")
            page.get_by_role("button", name="Play", exact=True).click()
            expect(page.get_by_role("status")).to_contain_text("Before you start")
            page.get_by_role("button", name="Next", exact=True).click()
            expect(page.get_by_role("status")).to_contain_text("Contact")
            page.wait_for_timeout(4000)
            page.get_by_role("button", name="Pause", exact=True).click()
            phone = pages["serve-phone.png"]
            phone.get_by_label("Routine", exact=True).select_option("quick-relief")
            phone.get_by_label("Safety questions").set_checked(False)
            phone.get_by_role("button", name="Check").click()
            expect(phone.locator("#messages")).to_contain_text("ok: ")
            for name, shown in pages.items():
                expect(shown.get_by_role("status")).to_contain_text("Paused")
                shown.evaluate("window.scrollTo(0, 0)")
                shown.screenshot(path=str(ROOT / "docs" / name))
                print(f"wrote docs/{name}")
            page.get_by_role("button", name="Stop", exact=True).click()
            browser.close()
    finally:
        server.stop()
        pulse.stop()


if __name__ == "__main__":
    main()
