"""Voices by the names users see, the warnings and hints around them, and a speech cache that
cannot lie, through the real command line (espeak-ng, the suite's voice; see conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from command import coach

from coach.sound.espeak import INSTALL, espeak_available

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (make setup)")

STEP = 'technique = "effleurage"\narea = "back"\nduration = "1m"\nsay = "Glide slowly."\n'


@pytest.mark.parametrize("voice", ["en-gb", "en-us", "en", "English (America)", "gmw/en-gb-x-rp"])
def test_espeak_voices_work_by_name_and_language_code(voice):
    result = coach("preview", "quick-relief", "--voice", voice)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_voice_that_does_not_speak_the_routines_language_is_one_warning(tmp_path):
    german = tmp_path / "de.toml"
    german.write_text(f'title = "Rücken"\nlanguage = "de"\nvoice = "en-us"\n[[steps]]\n{STEP}')
    result = coach("preview", str(german))
    assert result.returncode == 0
    # (The other warning a German routine gets: the coach's own lines stay English.)
    assert [line for line in result.stderr.splitlines() if " stay English" not in line] == [
        f"coach: {german}: voice en-us speaks en-us, but the routine's language is de"
    ]
    english = tmp_path / "en.toml"
    english.write_text(f'title = "Back"\n[[steps]]\n{STEP}')
    result = coach("preview", str(english), "--voice", "de")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "coach: voice de speaks de, but the routine's language is en"
    ]


def test_coach_voice_is_the_users_default_for_its_own_language(tmp_path):
    german = tmp_path / "de.toml"
    german.write_text(f'title = "Rücken"\nlanguage = "de"\n[[steps]]\n{STEP}')
    assert "voice en-gb-x-rp" in coach("preview", "quick-relief", COACH_VOICE="en-gb-x-rp").stdout
    # A German routine is not read by an English default voice: it gets a German one.
    result = coach("preview", str(german), COACH_VOICE="en-gb-x-rp")
    assert "voice de," in result.stdout
    assert all(" stay English" in line for line in result.stderr.splitlines())  # no voice warning


@pytest.mark.parametrize(
    ("command", "hint"),
    [
        (["preview", "quick-relief"], "run `make setup` or use --estimate"),
        (["export", "quick-relief", "-o", "guide.wav"], "run `make setup`"),
        (["play", "quick-relief"], "run `make setup`"),
    ],
)
def test_missing_espeak_suggests_only_what_the_command_offers(tmp_path, command, hint):
    # A PATH without espeak-ng (the interpreter is named by its full path).
    result = subprocess.run(
        [sys.executable, "-m", "coach", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, PATH=str(tmp_path)),
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"coach: {INSTALL}: {hint}"]
    assert not list(tmp_path.iterdir())


def read_wav(path: Path) -> bytes:
    with wave.open(str(path)) as f:
        return f.readframes(f.getnframes())


@pytest.mark.slow
def test_a_truncated_cache_entry_is_made_again_and_the_export_is_identical(tmp_path):
    clean, again = tmp_path / "clean.wav", tmp_path / "again.wav"
    cache = tmp_path / "cache"
    preview = coach("preview", "quick-relief", "--format", "json", XDG_CACHE_HOME=str(cache))
    assert (
        coach("export", "quick-relief", "-o", str(clean), XDG_CACHE_HOME=str(cache)).returncode == 0
    )
    clips = sorted((cache / "coach" / "speech").glob("*.clip"), key=lambda p: p.stat().st_size)
    longest = clips[-1]
    whole = longest.read_bytes()
    longest.write_bytes(whole[: len(whole) // 2 // 2 * 2])  # cut in half, still whole samples
    # Without the normalized clips and the loudness, so everything is rebuilt from the speech.
    for folder in ("normalized", "loudness"):
        for f in (cache / "coach" / folder).iterdir():
            f.unlink()
    again_preview = coach("preview", "quick-relief", "--format", "json", XDG_CACHE_HOME=str(cache))
    assert again_preview.stdout == preview.stdout
    assert longest.read_bytes() == whole  # made again, and cached again whole
    longest.write_bytes(whole[: len(whole) // 2 // 2 * 2])
    assert (
        coach("export", "quick-relief", "-o", str(again), XDG_CACHE_HOME=str(cache)).returncode == 0
    )
    assert read_wav(again) == read_wav(clean)


def test_another_language_without_espeak_ng_says_in_one_line_what_to_install(tmp_path):
    """English needs no system program (Piper); German needs the espeak-ng program."""
    german = tmp_path / "de.toml"
    german.write_text(f'title = "Rücken"\nlanguage = "de"\n[[steps]]\n{STEP}')
    env = {k: v for k, v in os.environ.items() if k != "COACH_VOICE"}
    result = subprocess.run(
        [sys.executable, "-m", "coach", "preview", str(german)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(env, PATH=str(tmp_path)),  # no espeak-ng on it
        timeout=60,
    )
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if " stay English" not in line] == [
        f"coach: no voice speaks 'de' here: {INSTALL}: run `make setup` or use --estimate"
    ]
