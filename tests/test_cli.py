"""The command line as a user meets it: `coach list`, `check`, `preview`, `voices`, and --help.

Run in this process (tests/command.py) where text and exit code are all a test reads; the last
tests start the installed `coach` itself, for what only a real process shows."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from command import coach

from coach.timeline import SAMPLE_RATE as S

BUILTINS = ["classic-back", "quick-relief", "self-massage"]
MINUTES = {"classic-back": 20, "quick-relief": 5, "self-massage": 10}


def timeline(*args: str) -> dict:
    result = coach("preview", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_timeline_rules(t: dict, seconds: float) -> None:
    """What the JSON timeline promises: sorted, contiguous steps, no speech overlap, a massage
    of exactly `seconds` between the pre-roll and the aftercare, a lead-in before any sound."""
    assert t["massage_end_sample"] - t["massage_start_sample"] == round(seconds * S)
    assert t["massage_end"] - t["massage_start"] == pytest.approx(seconds)
    assert t["duration"] == pytest.approx(t["duration_samples"] / S)
    steps = t["steps"]
    # Step 0 is the pre-roll, n + 1 the aftercare; the routine's own steps keep 1..n.
    assert [s["index"] for s in steps] == list(range(len(steps)))
    assert [s["title"] for s in (steps[0], steps[-1])] == ["Before you start", "Afterwards"]
    assert steps[1]["start"] == t["massage_start"] and steps[-1]["start"] == t["massage_end"]
    assert steps[0]["start"] == 0 and steps[-1]["end"] == t["duration"]
    assert min(e["start_sample"] for e in t["events"]) >= S // 2  # the lead-in
    for a, b in itertools.pairwise(steps):
        assert a["end"] == b["start"]
    events = t["events"]
    assert events == sorted(events, key=lambda e: (e["start"], e["end"]))
    speech = [e for e in events if e["kind"] == "speech"]
    for a, b in itertools.pairwise(speech):
        assert a["end_sample"] <= b["start_sample"], (a, b)
    for e in events:
        assert {"kind", "start", "end", "step"} <= e.keys()
        assert ("text" in e) == (e["kind"] == "speech") and ("name" in e) == (e["kind"] == "cue")
        assert 0 <= e["start"] < e["end"] <= t["duration"]


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_timeline_obeys_the_rules(name):
    assert_timeline_rules(timeline(name), MINUTES[name] * 60)


@pytest.mark.parametrize("minutes", ["30", "45"])
def test_minutes_rescales_classic_back(minutes):
    assert_timeline_rules(timeline("classic-back", "--minutes", minutes), float(minutes) * 60)


def test_the_estimate_is_labelled_and_still_obeys_the_rules():
    t = timeline("classic-back", "--estimate")
    assert t["estimated"] is True
    assert_timeline_rules(t, 20 * 60)
    assert "ESTIMATED" in coach("preview", "classic-back", "--estimate").stdout


@pytest.mark.parametrize("name", BUILTINS)
@pytest.mark.parametrize("fmt", ["text", "markdown", "srt", "vtt"])
def test_preview_formats_show_the_same_speech(name, fmt):
    t = timeline(name)
    result = coach("preview", name, "--format", fmt)
    assert result.returncode == 0, result.stderr
    for e in t["events"]:
        if e["kind"] == "speech":
            assert e["text"] in result.stdout
    if fmt in ("srt", "vtt"):
        stamps = re.findall(r"(\d\d):(\d\d):(\d\d)[,.](\d{3}) --> ", result.stdout)
        starts = [int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000 for h, m, s, ms in stamps]
        speech = [e["start"] for e in t["events"] if e["kind"] == "speech"]
        assert starts == pytest.approx(speech, abs=0.0006)
    if fmt == "vtt":
        assert result.stdout.startswith("WEBVTT")


def test_text_preview_reads_like_a_script():
    out = coach("preview", "classic-back").stdout
    assert out.splitlines()[0].startswith("Classic")
    assert " 1. " in out and "20:00" in out.splitlines()[0]


def test_list_shows_builtins_with_their_length():
    out = coach("list").stdout
    for name in BUILTINS:
        (line,) = [line for line in out.splitlines() if line.startswith(name)]
        assert f"{MINUTES[name]}:00" in line


def test_check_accepts_the_builtins(tmp_path):
    from coach.script.routine import builtin_routines

    result = coach("check", *map(str, builtin_routines()))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok") == 3


def test_check_lists_what_the_coach_left_out_as_notes(tmp_path):
    # Four 15-second steps hold their own words, but not everything the coach would add.
    steps = "".join(
        f'[[steps]]\ntechnique = "effleurage"\narea = "back"\nduration = 15\nsay = "{say}"\n'
        for say in ("Glide up the back.", "Glide down the sides.", "Glide up.", "Rest.")
    )
    path = tmp_path / "short.toml"
    path.write_text(f'title = "Short"\n{steps}')
    result = coach("check", str(path))
    assert result.returncode == 0, result.stderr
    ok, *notes = result.stdout.splitlines()
    assert ok.startswith("ok ") and notes
    assert all(n.startswith("    note: step ") for n in notes)


def test_check_reports_every_bad_file_one_line_each(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(
        'title = "Good"\n[[steps]]\ntechnique = "effleurage"\narea = "back"\nduration = "2m"\n'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'title = "Bad"\n[[steps]]\ntechnique = "efleurage"\narea = "back"\nduration = "2 minutes"\n'
    )
    result = coach("check", str(good), str(bad), str(tmp_path / "missing.toml"))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3, result.stderr
    assert lines[0].startswith(f"{bad}:3:") and "effleurage" in lines[0]
    assert lines[1].startswith(f"{bad}:5:") and "2 minutes" in lines[1]
    assert str(tmp_path / "missing.toml") in lines[2]
    assert "Traceback" not in result.stderr


def test_preview_of_an_invalid_routine_prints_the_same_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "Bad"\n[[steps]]\ntechnique = "effleurage"\narea = "back"\n')
    checked, previewed = coach("check", str(bad)), coach("preview", str(bad))
    assert previewed.returncode == checked.returncode == 2
    assert previewed.stderr == checked.stderr and len(previewed.stderr.splitlines()) == 1


def test_a_routine_whose_words_do_not_fit_names_the_step(tmp_path):
    bad = tmp_path / "tight.toml"
    bad.write_text(
        'title = "Tight"\n\n[[steps]]\ntechnique = "effleurage"\narea = "back"\n'
        'duration = "5s"\nsay = "Glide slowly up the back, then fan out over the shoulders."\n'
    )
    result = coach("preview", str(bad))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"{bad}:3: step 1")


def test_minutes_too_short_names_the_steps_and_a_length_that_fits():
    result = coach("preview", "classic-back", "--minutes", "1")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    *steps, hint = result.stderr.splitlines()
    assert steps and all(re.match(r".*classic-back.toml:\d+: step \d+ ", line) for line in steps)
    suggested = re.fullmatch(r"coach: --minutes 1 is too short .*: try --minutes (\d+)", hint)
    assert suggested, hint
    shortest = int(suggested.group(1))
    assert coach("preview", "classic-back", "--minutes", str(shortest)).returncode == 0
    assert coach("preview", "classic-back", "--minutes", str(shortest - 1)).returncode == 2


def test_unknown_routine_and_bad_options_are_one_line():
    unknown = coach("preview", "clasic-back")
    assert unknown.returncode == 2 and len(unknown.stderr.splitlines()) == 1
    assert "classic-back" in unknown.stderr
    bad_format = coach("preview", "classic-back", "--format", "pdf")
    assert bad_format.returncode == 2 and len(bad_format.stderr.splitlines()) == 1
    assert "--help" in bad_format.stderr


def test_help_lists_every_command():
    out = coach("--help").stdout
    for command in ("list", "check", "preview", "voices", "play", "export"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command
    for command in ("list", "check", "preview", "voices", "play", "export"):
        result = coach(command, "--help")
        assert result.returncode == 0 and "Usage: coach" in result.stdout


def test_voices_lists_english_and_german():
    english = coach("voices", "--language", "en")
    assert english.returncode == 0 and english.stdout.strip()
    german = coach("voices", "-l", "de")
    assert german.returncode == 0 and "de" in german.stdout
    none = coach("voices", "-l", "xx-nowhere")
    assert none.returncode == 2 and len(none.stderr.splitlines()) == 1


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    result = coach("preview", "quick-relief", "--format", "json", XDG_CACHE_HOME=str(not_a_folder))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == timeline("quick-relief")


def test_output_that_cannot_be_written_is_one_line():
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "coach", "list"], stdout=full, stderr=subprocess.PIPE, text=True
        )
    assert result.returncode == 1
    assert result.stderr.splitlines() == ["coach: No space left on device"]


def test_a_bad_voice_in_a_file_names_the_file(tmp_path):
    bad = tmp_path / "voice.toml"
    bad.write_text(
        'title = "V"\nvoice = "nosuchvoice"\n[[steps]]\ntechnique = "effleurage"\n'
        'area = "back"\nduration = "2m"\n'
    )
    result = coach("check", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"coach: {bad}: unknown voice 'nosuchvoice': `coach voices` lists the voices"
    ]


# The installed command itself, as a shell starts it.
INSTALLED = str(Path(sys.executable).with_name("coach"))


@pytest.mark.parametrize(
    ("args", "code", "first_words"),
    [
        (["list"], 0, ""),
        (["preview", "clasic-back"], 2, 'coach: unknown routine "clasic-back"'),
        (
            ["preview", "classic-back", "--rate", "301"],
            2,
            "coach preview: Invalid value for '--rate'",
        ),
        (["play"], 2, "coach play: Missing argument 'ROUTINE'."),
    ],
)
def test_the_installed_command_gives_the_same_text_and_exit_code(args, code, first_words):
    real = subprocess.run([INSTALLED, *args], capture_output=True, text=True, timeout=120)
    assert real.returncode == code
    in_process = coach(*args)
    assert (real.returncode, real.stdout, real.stderr) == (
        in_process.returncode,
        in_process.stdout,
        in_process.stderr,
    )
    if code:
        (line,) = real.stderr.splitlines()
        assert line.startswith(first_words) and "Traceback" not in line


def test_play_without_portaudio_says_which_package_to_install_and_export_still_works(tmp_path):
    """Where the system has no PortAudio library (Linux without libportaudio2), sounddevice's
    import fails finding it: simulated here at that lookup, the one thing sounddevice asks."""
    code = (
        "import ctypes.util, sys\n"
        "find = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda n: None if 'portaudio' in n else find(n)\n"
        "from coach.cli import main\n"
        "main(sys.argv[1:])"
    )

    def run(*args):
        return subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
        )

    played = run("play", "quick-relief")
    assert played.returncode == 2
    assert len(played.stderr.splitlines()) == 1 and "libportaudio2" in played.stderr
    exported = run("export", "quick-relief", "-o", str(tmp_path / "guide.wav"))
    assert exported.returncode == 0, exported.stderr
