"""Hostile and huge input, through the real command line: one line and exit 2, in bounded time
and memory, never a traceback, a hang or a machine out of memory.

The timeout and the address-space limit are bounds, not timings: before these fixes a FIFO hung
for ever, /dev/zero grew to 13 GB and "999999h" never finished. How fast the answers really
are is measured in benchmarks/bench_input.py.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from coach.script.routine import MAX_FILE_BYTES, english_lines, load_routine
from coach.script.spoken import sentences

ROOT = Path(__file__).resolve().parent.parent
MEMORY_BOUND = 200_000_000  # bytes of address space: `coach check` needs about 150 MB of it
TIME_BOUND = 20  # seconds; a loaded 2-core machine starts Python slowly, a hang never ends


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BOUND, MEMORY_BOUND))


def coach(*args: str, bounded: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args],
        capture_output=True,
        text=True,
        timeout=TIME_BOUND if bounded else 300,
        preexec_fn=_limit_memory if bounded else None,
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    """The single stderr line of a refused command (exit 2, nothing on stdout, no traceback)."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    return line


ROUTINE = """\
title = "Test"

[[steps]]
technique = "rest"
area = "whole back"
duration = {duration}
"""


# --- routine files that are not files, or far too big ------------------------------------------


def test_a_device_that_never_ends_is_refused_at_once():
    line = one_line(coach("check", "/dev/zero", bounded=True))
    assert line == (
        "coach: /dev/zero: not a regular file (a device, pipe or socket); give a routine .toml file"
    )


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "routine.toml"
    os.mkfifo(fifo)
    line = one_line(coach("check", str(fifo), bounded=True))
    assert line.startswith(f"coach: {fifo}: not a regular file")


@pytest.mark.parametrize("command", ["check", "preview", "export"])
def test_an_oversize_routine_file_is_refused_by_every_command(tmp_path, command):
    big = tmp_path / "big.toml"
    # Valid TOML all the way: a comment line longer than any routine needs.
    big.write_text(ROUTINE.format(duration=60) + "#" * MAX_FILE_BYTES + "\n")
    args = [command, str(big)] + (["-o", str(tmp_path / "x.wav")] if command == "export" else [])
    line = one_line(coach(*args, bounded=True))
    assert line.startswith(f"coach: {big}: over 1 MB, too large for a routine file")
    assert not (tmp_path / "x.wav").exists()


def test_a_routine_file_just_under_the_cap_still_loads(tmp_path):
    path = tmp_path / "padded.toml"
    text = ROUTINE.format(duration=60)
    path.write_text(text + "#" * (MAX_FILE_BYTES - len(text) - 1) + "\n")
    assert path.stat().st_size == MAX_FILE_BYTES
    assert load_routine(path).title == "Test"


def test_a_folder_is_named_as_one(tmp_path):
    assert one_line(coach("check", str(tmp_path), bounded=True)) == (
        f"coach: {tmp_path}: is a folder; give a routine .toml file"
    )


def test_a_name_too_long_for_the_file_system_is_one_short_line():
    line = one_line(coach("check", "a" * 5000, bounded=True))
    assert line == f'coach: "{"a" * 57}...": File name too long; give a routine .toml file'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a = " + "[" * 100_000 + "]" * 100_000,
            "not valid TOML: lists or tables nested too deeply",
        ),
        ("a = " + "7" * 5000, "not valid TOML: a number too long to read"),
    ],
    ids=["deep nesting", "5000 digits"],
)
def test_toml_that_python_cannot_hold_is_one_line_too(tmp_path, text, message):
    path = tmp_path / "r.toml"
    path.write_text('title = "x"\n' + text + "\n")
    line = one_line(coach("check", str(path), bounded=True))
    assert line == f"{path}:{1 if 'nested' in message else 2}: {message}"


# --- durations have a maximum -----------------------------------------------------------------


@pytest.mark.parametrize("duration", ['"999999h"', '"9999h"', '"24h0m1s"', "86401", "1e300"])
def test_a_duration_over_a_day_is_one_line_with_its_place(tmp_path, duration):
    path = tmp_path / "r.toml"
    path.write_text(ROUTINE.format(duration=duration))
    line = one_line(coach("check", str(path), bounded=True))
    shown = duration if duration.startswith('"') else duration.replace("1e300", "1e+300")
    assert line == (
        f'{path}:6: step 1 (Rest): duration {shown} is over the 24-hour maximum; use at most "24h"'
    )


def test_a_day_exactly_is_allowed(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(ROUTINE.format(duration='"24h"'))
    assert load_routine(path).duration == 24 * 3600 * 22050


def test_steps_adding_up_to_more_than_a_day_name_the_step_that_passes_it(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(ROUTINE.format(duration='"20h"') + ROUTINE.split("\n", 2)[2].format(
        duration='"5h"'
    ))  # fmt: skip
    line = one_line(coach("check", str(path), bounded=True))
    assert line == (
        f"{path}:7: step 2 (Rest, whole back): the steps up to here add up to 25 hours, "
        "over the 24-hour maximum; shorten or remove steps"
    )


def test_minutes_stops_at_the_same_day(tmp_path):
    refused = coach("preview", "quick-relief", "--estimate", "--minutes", "1441")
    assert "1441.0 is not in the range 0<x<=1440" in one_line(refused)
    full = coach("preview", "quick-relief", "--estimate", "--minutes", "1440")
    assert full.returncode == 0, full.stderr
    assert full.stdout.startswith("Quick relief (1440:00")


# --- long narration is cut into phrases -------------------------------------------------------


def test_short_sentences_stay_whole_phrases():
    text = "Glide up the back, then down the sides.  Slowly!  Again?"
    assert sentences(text) == ["Glide up the back, then down the sides.", "Slowly!", "Again?"]


def test_unpunctuated_text_is_cut_into_even_phrases_of_at_most_25_words():
    words = [f"w{i}" for i in range(5000)]
    phrases = sentences(" ".join(words))
    assert [p.split() for p in phrases] == [words[i : i + 25] for i in range(0, 5000, 25)]
    assert [len(p.split()) for p in sentences(" ".join(words[:60]))] == [20, 20, 20]


def test_a_long_sentence_is_cut_at_its_commas_first():
    clause = " ".join(["stroke"] * 10)
    text = f"{clause}, {clause}, {clause}; {clause}: {clause}. Done."
    assert sentences(text) == [
        f"{clause}, {clause},",
        f"{clause}; {clause}:",
        f"{clause}.",
        "Done.",
    ]


# --- the coach's own lines in the routine's language ------------------------------------------

FRENCH = """\
title = "Massage du soir"
language = "fr"

[[steps]]
technique = "effleurage"
area = "dos"
duration = "2m"
"""

FRENCH_PHRASES = """\
[phrases]
safety = ["Jamais sur la colonne."]
check_ins = ["Demandez : la pression vous convient ?"]
posture = ["Gardez le dos droit."]
next = "Ensuite : {title}."
halfway = "À mi-chemin."
ending = "C'est fini. Reposez-vous."

[techniques.effleurage]
label = "Effleurage"
say = "Glissez lentement le long du dos."
tempo = "Lentement."
pressure = "Légère, 3 sur 10."
"""

WARNING = (
    'coach: warning: {path}: language "fr", but the coach\'s own lines stay English; give them '
    "in the file (docs/routines.md): phrases.safety, phrases.check_ins, phrases.posture, "
    "phrases.halfway, phrases.ending, techniques.effleurage"
)


@pytest.mark.parametrize(
    "args",
    [
        ["check"],
        ["preview", "--estimate"],
        ["export", "--voice", "fr", "--transcript", "none", "-o", "{dir}/guide.wav"],
    ],
    ids=["check", "preview", "export"],
)
def test_a_french_routine_without_its_own_phrases_warns_in_one_line(tmp_path, args):
    path = tmp_path / "soir.toml"
    path.write_text(FRENCH)
    command, *rest = args
    result = coach(command, str(path), *(a.format(dir=tmp_path) for a in rest))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [WARNING.format(path=path)]


def test_a_french_routine_with_its_phrases_and_techniques_says_nothing(tmp_path):
    path = tmp_path / "soir.toml"
    path.write_text(FRENCH + FRENCH_PHRASES)
    result = coach("check", str(path))
    assert result.returncode == 0 and result.stderr == ""
    routine = load_routine(path)
    assert routine.phrases["next"] == ("Ensuite : {title}.",)
    assert routine.phrases["check_ins"] == ("Demandez : la pression vous convient ?",)


def test_only_the_lines_the_coaching_uses_are_asked_for(tmp_path):
    path = tmp_path / "soi.toml"
    coaching = "\n[coaching]\npartner = false\nhalfway = false\n"
    path.write_text(FRENCH.replace("\n[[steps]]", coaching + "\n[[steps]]"))
    routine = load_routine(path)
    # The pre-roll's stop rule is said in every routine, so "safety" is always asked for.
    assert english_lines(routine) == ["phrases.safety", "phrases.ending", "techniques.effleurage"]


@pytest.mark.parametrize("language", ["en", "en-GB", "en_us", "EN"])
def test_english_routines_never_warn(tmp_path, language):
    path = tmp_path / "r.toml"
    path.write_text(FRENCH.replace('"fr"', f'"{language}"'))
    assert english_lines(load_routine(path)) == []


# --- hints that say what is true --------------------------------------------------------------


def test_export_to_a_folder_says_it_is_a_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "coach", "export", "quick-relief", "-o", "."],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert one_line(result) == "coach: . is a folder: give a file name with -o"


def test_music_from_a_device_is_not_called_missing(tmp_path):
    result = coach("export", "quick-relief", "-o", str(tmp_path / "g.wav"), "--music", "/dev/zero")
    assert one_line(result) == (
        "coach: music /dev/zero is not a regular file: give the path of an audio file"
    )


@pytest.mark.slow
def test_building_the_package_gives_no_license_deprecation_warning(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert "license" not in (built.stdout + built.stderr).lower()


def test_the_documented_french_example_covers_every_line(tmp_path):
    docs = (ROOT / "docs" / "routines.md").read_text(encoding="utf-8")
    section = docs.split("## `[phrases]`", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "soir.toml"
    path.write_text(example, encoding="utf-8")
    routine = load_routine(path)
    assert routine.language == "fr" and english_lines(routine) == []
    assert set(routine.phrases) == {"safety", "check_ins", "posture", "next", "halfway", "ending"}
