"""A routine pasted as text (the web page's way in) goes through exactly the checks a routine
file does, under the same size limit, its problems named `<pasted>:LINE: message`."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coach.errors import CoachError, RoutineError
from coach.script.routine import (
    MAX_FILE_BYTES,
    PASTED,
    builtin_routines,
    load_routine,
    load_routine_text,
)

BUILTINS = builtin_routines()
# Values that break a routine in many ways (types, ranges, unknown names, bad TOML), none of
# them a sound file: text has no folder to find one in (tested on its own below).
VALUES = ['"2m"', "0", "-5", "true", '"x"', "[1, 2]", "{ a = 1 }", '"1:30"', '"99h"', '"chim"',
          '"effleurag"', "79", "301", '"{title} {x}"', '"   "', '[{ at = "99m", say = "Hi." }]',
          "1e400", '"unterminated']  # fmt: skip


def outcome(load, source) -> str:
    try:
        routine = load(source)
    except CoachError as e:
        return str(e)
    return repr(dataclasses.replace(routine, name="NAME", path="PATH"))


@pytest.mark.parametrize("path", BUILTINS, ids=lambda p: p.stem)
def test_a_builtin_routine_as_text_is_the_same_routine(path):
    from_file, from_text = load_routine(path), load_routine_text(path.read_text())
    assert from_text.name == from_text.path == PASTED
    assert dataclasses.replace(from_text, name=from_file.name, path=from_file.path) == from_file


@settings(max_examples=80, deadline=None)
@given(
    source=st.sampled_from(BUILTINS),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(VALUES)), min_size=1),
)
def test_a_broken_routine_as_text_has_the_same_problems_as_the_file(tmp_path_factory, source,
                                                                   edits):  # fmt: skip
    lines = source.read_text().splitlines()
    for k, value in edits:  # one value changed per edit, on any line holding one
        holding = [i for i, line in enumerate(lines) if " = " in line]
        i = holding[k % len(holding)]
        lines[i] = f"{lines[i].split(' = ')[0]} = {value}"
    text = "\n".join(lines) + "\n"
    path = tmp_path_factory.mktemp("routine") / "broken.toml"
    path.write_text(text)
    from_file = outcome(load_routine, path)
    assert outcome(load_routine_text, text) == from_file.replace(str(path), PASTED)


def test_problems_name_the_text_and_the_line():
    text = (BUILTINS[0].read_text() + '\n[[steps]]\ntechnique = "efleurage"\narea = "back"\n'
            'duration = "2 minutes"\n')  # fmt: skip
    last = text.count("\n")
    with pytest.raises(RoutineError) as info:
        load_routine_text(text, "my routine")
    assert [str(p) for p in info.value.problems] == [
        f"my routine:{last - 2}: step {len(load_routine(BUILTINS[0]).steps) + 1} (efleurage): "
        'unknown technique "efleurage" (did you mean "effleurage"?)',
        f"my routine:{last}: step {len(load_routine(BUILTINS[0]).steps) + 1} (efleurage): "
        'duration "2 minutes" is not a duration; use 90, "90s", "2m", "1m30s" or "1:30"',
    ]


@pytest.mark.parametrize("pad", ["#", "é"])  # the limit counts bytes, as a file's does
def test_text_over_the_file_size_limit_is_refused(pad):
    routine = BUILTINS[0].read_text()
    room = MAX_FILE_BYTES - len(routine.encode()) - 2
    fits = routine + "#" + pad * (room // len(pad.encode())) + "\n"
    assert len(fits.encode()) <= MAX_FILE_BYTES
    assert load_routine_text(fits).title == load_routine(BUILTINS[0]).title
    too_big = fits + pad
    assert len(too_big.encode()) > MAX_FILE_BYTES
    with pytest.raises(CoachError) as info:
        load_routine_text(too_big)
    assert str(info.value) == (
        f"{PASTED}: over 1 MB, too large for a routine file (the built-in ones are under 4 KB)"
    )


@pytest.mark.parametrize("cue", ["chime.wav", "../audio_cues/chime.wav", "/etc/passwd"])
def test_text_may_use_builtin_cues_but_no_sound_files(cue):
    text = 'title = "T"\n\n[[steps]]\ntechnique = "rest"\narea = "back"\nduration = 60\n'
    assert load_routine_text(text + 'cue = "bell"\n').steps[0].cue == "bell"
    with pytest.raises(RoutineError) as info:
        load_routine_text(text + f'cue = "{cue}"\n')
    (problem,) = info.value.problems
    assert (problem.path, problem.line) == (PASTED, 7)
    assert problem.message.startswith(f'step 1 (Rest): cue "{cue}": a routine given as text')


def test_a_lone_surrogate_is_a_problem_at_its_line():
    text = 'title = "T"\n\n[[steps]]\ntechnique = "rest"\narea = "back\ud800"\nduration = 60\n'
    with pytest.raises(RoutineError) as info:
        load_routine_text(text)
    assert str(info.value) == f"{PASTED}:5: not UTF-8 text (a lone surrogate)"
