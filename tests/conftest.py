"""The suite never touches the developer's own cache (~/.cache/coach): it has one of its own,
which the `coach` subprocesses inherit too, kept between runs in .pytest_cache (`make clean`
empties it). Every key is a content hash (engine, voice, rate, text; a guide's samples), so a
stale entry is never used, and a second run makes no phrase twice: the fast lane's espeak-ng
synthesis is paid once per machine, not once per run. Tests of a cold, broken or unwritable
cache make their own.

It also speaks with espeak-ng unless a test asks for Piper: COACH_VOICE (the user's own
default voice) is set to espeak-ng's en-us for the whole run. Most tests compile whole
routines, and the neural voice makes ~2-3 phrases a second cold, so the default voice would
add minutes on every run. The Piper tests (test_piper*.py) ask for it explicitly, on short
phrases or through `piper_env`, whose cache of Piper clips lasts across runs too.
"""

from __future__ import annotations

import os
import signal

import pulse
import pytest

# A shell that starts a job in the background (`pytest &`, some CI runners) sets SIGINT to
# "ignore", and every `coach` the tests start would inherit that and shrug off the Ctrl-C the
# tests send it (seen here: 6 Ctrl-C tests failing only when run in the background). A
# handler in this process is reset to the default in its children, so they get Ctrl-C again.
signal.signal(signal.SIGINT, signal.default_int_handler)

SUITE_VOICE = "en-us"


@pytest.fixture(scope="session", autouse=True)
def suite_cache(request, tmp_path_factory):
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "COACH_VOICE")}
    kept = getattr(request.config, "cache", None)  # None under `-p no:cacheprovider`
    folder = kept.mkdir("coach-suite-cache") if kept else tmp_path_factory.mktemp("cache")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    os.environ["COACH_VOICE"] = SUITE_VOICE
    yield
    for key, value in saved.items():
        if value is None:
            del os.environ[key]
        else:
            os.environ[key] = value


# Debian's chromium-headless-shell (the Makefile installs it): Playwright's wheel holds no
# browser, and `playwright install` downloads one, which this machine cannot.
CHROMIUM = "/usr/bin/chromium-headless-shell"


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium, driven by Playwright, for the page tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def piper_cache(request) -> str:
    """A cache folder for Piper clips that pytest keeps between runs (.pytest_cache)."""
    return str(request.config.cache.mkdir("coach-piper-cache"))


@pytest.fixture(scope="session")
def piper_env(piper_cache) -> dict[str, str]:
    """The environment of a user with no COACH_VOICE: English routines get the Piper voice."""
    env = {k: v for k, v in os.environ.items() if k != "COACH_VOICE"}
    env["XDG_CACHE_HOME"] = piper_cache
    return env


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the test's fixtures: may it start a PulseAudio server (tests/pulse.py)?"""
    pulse.realtime_test = item.get_closest_marker("realtime") is not None


@pytest.fixture
def pulse_here(monkeypatch):
    """A private PulseAudio that this process's own sound goes to (its server in the env)."""
    server = pulse.PulseServer().start()
    for key, value in server.env.items():
        monkeypatch.setenv(key, value)
    yield server
    server.stop()


@pytest.fixture
def cold(monkeypatch, tmp_path):
    """An empty cache: every phrase is made afresh."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
