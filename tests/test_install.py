"""What `pip install coach` gives, tested as installed: the wheel built from this checkout, put
into a fresh venv, run from a folder outside the checkout with a PATH that holds no ffmpeg,
ffprobe or espeak-ng. Everything the main jobs need comes from wheels: PyAV encodes and
decodes, piper-tts speaks English with its own phonemizer.

Slow (a venv and its packages, from pip's cache: ~1-2 min), so marked: `-m 'not slow'` skips it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORMATS = ("wav", "flac", "mp3", "ogg", "m4a", "m4b")

# Setting up the venv and a cold Piper synthesis of quick-relief take minutes on a loaded
# machine: more than the suite's 300 s a test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def installed(tmp_path_factory, piper_cache) -> tuple[Path, dict]:
    """(the venv's bin folder, an environment whose PATH is that folder alone)."""
    base = tmp_path_factory.mktemp("install")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(base), str(ROOT)],
        check=True,
    )
    (wheel,) = base.glob("coach-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    subprocess.run([bin_dir / "pip", "install", "-q", str(wheel)], check=True, timeout=900)
    env = {k: v for k, v in os.environ.items() if k not in ("COACH_VOICE", "PYTHONPATH")}
    env.update(PATH=str(bin_dir), XDG_CACHE_HOME=piper_cache)  # Piper clips kept across runs
    for program in ("ffmpeg", "ffprobe", "espeak-ng"):
        assert shutil.which(program, path=env["PATH"]) is None
    return bin_dir, env


def coach(installed, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    bin_dir, env = installed
    result = subprocess.run(
        [bin_dir / "coach", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )
    assert result.returncode == 0, result.stderr
    return result


def chapters(path: Path) -> list[tuple[str, float]]:
    """(title, start seconds) of each chapter, as the test's own ffprobe reads them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_chapters", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [(c["tags"]["title"], float(c["start_time"])) for c in json.loads(out)["chapters"]]


def test_the_installed_coach_runs_from_its_own_files(installed, tmp_path):
    bin_dir, env = installed
    code = "import coach, av; print(coach.__file__)"
    where = subprocess.run(
        [bin_dir / "python", "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert Path(where.stdout.strip()).is_relative_to(bin_dir.parent)


@pytest.fixture(scope="module")
def steps(installed, tmp_path_factory) -> list[tuple[str, float]]:
    """quick-relief's steps as the installed coach previews them: (title, start seconds)."""
    shown = coach(installed, "preview", "quick-relief", "--format", "json",
                  cwd=tmp_path_factory.mktemp("preview")).stdout  # fmt: skip
    preview = json.loads(shown)
    assert preview["engine"] == "piper"  # the natural voice, with no espeak-ng program
    rate = preview["sample_rate"]
    return [(s["title"], s["start_sample"] / rate) for s in preview["steps"]]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_quick_relief_with_its_steps_as_chapters(installed, steps, tmp_path, fmt):
    out = tmp_path / f"guide.{fmt}"
    coach(installed, "export", "quick-relief", "-o", str(out), cwd=tmp_path)
    assert out.stat().st_size > 10_000
    if fmt == "wav":
        return  # WAV has no chapters
    found = chapters(out)
    assert len(steps) >= 3
    assert [title for title, _ in found] == [title for title, _ in steps]
    for (_, got), (_, want) in zip(found, steps, strict=True):
        assert got == pytest.approx(want, abs=0.001)


def test_previews_classic_back_and_lists_its_voices(installed, tmp_path):
    shown = coach(installed, "preview", "classic-back", cwd=tmp_path).stdout
    assert "Classic" in shown or "classic" in shown
    listed = coach(installed, "voices", cwd=tmp_path).stdout.splitlines()
    engines = {line.split()[2] for line in listed}
    assert engines == {"piper"}  # espeak-ng's voices only where its program is installed
    assert any(line.startswith("en_US-joe-medium") for line in listed)
