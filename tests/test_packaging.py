"""`pip install .` (not only an editable install) must carry the routines, the cue sounds and
the web page of `coach serve`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_holds_the_builtin_routines_cue_sounds_and_page(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("coach-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for routine in (ROOT / "scripts").glob("*.toml"):
        assert f"coach/scripts/{routine.name}" in names
    for cue in (ROOT / "audio_cues").glob("*.wav"):
        assert f"coach/audio_cues/{cue.name}" in names
    for static in (ROOT / "coach" / "web" / "static").iterdir():
        assert f"coach/web/static/{static.name}" in names
    assert "coach/cli/__init__.py" in names
