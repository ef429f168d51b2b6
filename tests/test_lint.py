"""The safety lint: each rule warns at the line that causes it; the built-ins give none; a
routine with only warnings is valid, and `--strict` makes warnings fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from command import coach

from coach.script.lint import lint
from coach.script.routine import builtin_routines, load_routine

# A valid partner routine with no warnings: each case below adds one mistake to it.
CLEAN = """\
title = "Clean"
[coaching]
partner = true
check_in_first = "2m"

[techniques.palm]
label = "Palm presses"
say = "Press slowly with both palms, beside the spine."
tempo = "One press each out-breath."
pressure = "Medium, 5 out of 10."

[[steps]]
technique = "effleurage"
area = "upper back"
duration = "2m"
say = "Glide up beside the spine, never on it."

[[steps]]
technique = "palm"
area = "shoulders"
duration = "1m"
reminders = [{ at = "30s", say = "Keep it easy." }]
"""


def warnings_for(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "routine.toml"
    path.write_text(text)
    return [str(w) for w in lint(load_routine(path), text)]


def line_of(text: str, fragment: str) -> int:
    (n,) = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return n


def test_the_clean_routine_is_clean(tmp_path):
    assert warnings_for(tmp_path, CLEAN) == []


@pytest.mark.parametrize("path", builtin_routines(), ids=lambda p: p.stem)
def test_the_builtins_give_no_warnings(path):
    assert lint(load_routine(path), path.read_text()) == []


CASES = {
    "tapotement over the lower back": (
        ('area = "upper back"', 'area = "lower back"'),
        ('technique = "effleurage"', 'technique = "tapotement"'),
        ('say = "Glide up beside the spine, never on it."', 'say = "Tap quickly."'),
    ),
    "more than light pressure over the lower back": (
        ('area = "shoulders"', 'area = "lower back"'),
    ),
    'says "along the spine"': (
        ('say = "Glide up beside the spine, never on it."', 'say = "Glide along the spine."'),
    ),
    'says "on the spine"': (
        ('say = "Keep it easy."', 'say = "Press on the spine now."'),
    ),
    "asks for 8 out of 10": (
        ('pressure = "Medium, 5 out of 10."', 'pressure = "Firm, eight out of ten."'),
    ),
    "of vibration": (
        ('technique = "effleurage"', 'technique = "vibration"'),
        ('duration = "2m"', 'duration = "50s"'),
    ),
    "of tapotement": (
        ('technique = "effleurage"', 'technique = "tapotement"'),
        ('say = "Glide up beside the spine, never on it."', 'say = "Tap quickly."'),
        ('duration = "2m"', 'duration = "1m10s"'),
    ),
    "no pressure check-in in the first 5:00": (('check_in_first = "2m"', 'check_in_first = "6m"'),),
    "with no reminder": (('duration = "2m"', 'duration = "5m30s"'),),
    '"Lean into it." in palm presses': (('say = "Keep it easy."', 'say = "Lean into it."'),),
    '"Is the pressure all right?" in rest': (
        ('technique = "palm"', 'technique = "rest"'),
        ('say = "Keep it easy."', 'say = "Is the pressure all right?"'),
    ),
    '"Move on to a new spot." in effleurage': (
        ('say = "Glide up beside the spine, never on it."', 'say = "Move on to a new spot."'),
    ),
}  # fmt: skip
# The line that causes each warning: where to look for it in the changed file.
CAUSE = {
    "tapotement over the lower back": 'area = "lower back"',
    "more than light pressure over the lower back": 'area = "lower back"',
    'says "along the spine"': "along the spine",
    'says "on the spine"': "on the spine",
    "asks for 8 out of 10": "eight out of ten",
    "of vibration": 'duration = "50s"',
    "of tapotement": 'duration = "1m10s"',
    "no pressure check-in in the first 5:00": "check_in_first",
    "with no reminder": 'duration = "5m30s"',
    '"Lean into it." in palm presses': "Lean into it.",
    '"Move on to a new spot." in effleurage': "Move on to a new spot.",
    '"Is the pressure all right?" in rest': "Is the pressure all right?",
}


@pytest.mark.parametrize("what", CASES)
def test_each_rule_warns_at_the_line_that_causes_it(tmp_path, what):
    text = CLEAN
    for old, new in CASES[what]:
        assert old in text
        text = text.replace(old, new, 1)
    found = warnings_for(tmp_path, text)
    hits = [w for w in found if what in w]
    assert len(hits) == 1, found
    _path, line, rest = hits[0].split(":", 2)
    assert int(line) == line_of(text, CAUSE[what])
    # FILE:LINE: warning: what; why; what to do
    assert rest.startswith(" warning: ") and rest.count("; ") == 2, rest


def test_a_negated_spine_and_a_softened_lower_back_are_fine(tmp_path):
    text = CLEAN.replace('area = "upper back"', 'area = "lower back"').replace(
        "Glide up beside the spine, never on it.", "Stroke lightly, not on the spine."
    )
    assert warnings_for(tmp_path, text) == []


def test_check_prints_warnings_exits_0_and_strict_exits_1(tmp_path):
    path = tmp_path / "warned.toml"
    path.write_text(CLEAN.replace('check_in_first = "2m"', 'check_in_first = "6m"'))
    result = coach("check", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:4: warning: no pressure check-in in the first 5:00; a partner often won't say "
        'it is too firm unless asked; set check_in_first = "4m" or less under [coaching]'
    ]
    assert result.stdout.startswith(f"ok  {path}")
    strict = coach("check", "--strict", str(path))
    assert strict.returncode == 1 and strict.stderr == result.stderr
    assert coach("check", "--strict", *map(str, builtin_routines())).returncode == 0


def test_export_prints_the_warnings_once_before_starting(tmp_path):
    path = tmp_path / "warned.toml"
    path.write_text(CLEAN.replace('check_in_first = "2m"', 'check_in_first = "6m"'))
    out = tmp_path / "guide.wav"
    result = coach("export", str(path), "--voice", "en-us", "-o", str(out), "--transcript", "none")
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if "warning:" in line] == [
        f"{path}:4: warning: no pressure check-in in the first 5:00; a partner often won't say "
        'it is too firm unless asked; set check_in_first = "4m" or less under [coaching]'
    ]
    assert out.exists()
