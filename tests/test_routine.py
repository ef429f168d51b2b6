"""Routine files: what a user writes, what loads, and the exact line each mistake points at."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.errors import CoachError, RoutineError
from coach.resources import cues_dir
from coach.script.routine import builtin_routines, find_routine, load_routine
from coach.script.techniques import LIBRARY
from coach.script.values import parse_duration
from coach.timeline import SAMPLE_RATE

SR = SAMPLE_RATE
# Steps 1-3 start on lines 3, 8 and 13: several tests point at these lines.
GOOD = """\
title = "Test routine"

[[steps]]
technique = "effleurage"
area = "whole back"
duration = "1:30"

[[steps]]
technique = "petrissage"
area = "shoulders"
duration = "2m"

[[steps]]
technique = "friction"
area = "beside the spine"
duration = 60
"""


def write(tmp_path, text: str | bytes, name: str = "r.toml"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def problems(path) -> list[str]:
    with pytest.raises(RoutineError) as info:
        load_routine(path)
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems)
    return lines


def one_problem(tmp_path, text: str | bytes) -> tuple[int, str]:
    """The single problem in `text` as (line, message), checking the `PATH:LINE: ` prefix."""
    path = write(tmp_path, text)
    (line,) = problems(path)
    prefix, number, message = line.split(":", 2)
    assert prefix == str(path)
    return int(number), message.strip()


def with_step_lines(*extra: str, step: int = 2) -> str:
    """GOOD with `extra` lines appended to the step-th step (1-3)."""
    lines = GOOD.splitlines()
    end = {1: 6, 2: 11, 3: 16}[step]
    return "\n".join(lines[:end] + list(extra) + lines[end:]) + "\n"


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (90, 90),
        (90.5, 90.5),
        ("90", 90),
        ("90.5", 90.5),
        ("90s", 90),
        ("2m", 120),
        ("1m30s", 90),
        ("1m 30s", 90),
        ("1h", 3600),
        ("1:30", 90),
        ("0:45", 45),
        ("1:02:03", 3723),
        (" 2M ", 120),
    ],
)
def test_durations_are_whole_samples(value, seconds):
    assert parse_duration(value) == round(seconds * SR)
    assert isinstance(parse_duration(value), int)


@pytest.mark.parametrize(
    "value", ["2 minutes", "", "m", "1:75", "1:3", "90x", "1.5.2", True, False, None, [90]]
)
def test_not_durations(value):
    with pytest.raises(ValueError, match="is not a duration; use 90"):
        parse_duration(value)


@pytest.mark.parametrize("value", [0, -5, -0.5, "0", "0s", "0:00", "-30s", "-1:30"])
def test_durations_must_be_positive(value):
    with pytest.raises(ValueError, match="must be more than zero"):
        parse_duration(value)


# --- a good file -------------------------------------------------------------------------


def test_good_file_loads_with_defaults(tmp_path):
    routine = load_routine(write(tmp_path, GOOD, "my-back.toml"))
    assert routine.name == "my-back"
    assert routine.title == "Test routine"
    assert routine.duration == 270 * SR
    first, second, third = routine.steps
    assert [s.index for s in routine.steps] == [1, 2, 3]
    assert [s.line for s in routine.steps] == [3, 8, 13]
    assert first.duration == 90 * SR and second.duration == 120 * SR and third.duration == 60 * SR
    assert first.title == "Effleurage, whole back"
    assert first.say == LIBRARY["effleurage"].say
    assert first.cue == "chime"
    assert first.reminders == ()
    assert routine.language == "en" and routine.voice is None and routine.rate is None
    coaching = routine.coaching
    assert coaching.partner and coaching.safety_notice and coaching.cautions and coaching.tempo
    assert coaching.check_in_first == 240 * SR
    assert coaching.check_in_every == 300 * SR
    assert coaching.posture_every == 360 * SR
    assert not coaching.ticks
    assert coaching.heads_up and coaching.halfway and coaching.countdown


def test_every_field_is_read(tmp_path):
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "ding.wav").write_bytes(b"RIFF")
    text = """\
title = "  Full   example "
description = "All fields."
language = "de"
voice = "de"
rate = 110

[coaching]
partner = false
safety_notice = true
cautions = false
tempo = false
check_in_first = "2m"
check_in_every = false
posture_every = true
ticks = true
heads_up = false
halfway = false
countdown = false

[techniques.palm-press]
label = "Palm presses"
say = \"\"\"Press with both palms,
   slowly.\"\"\"
tempo = "One press a breath."
pressure = "Medium, 5 out of 10."
cautions = ["Not on the spine."]
per_minute = 12

[[steps]]
technique = "palm-press"
area = "upper back"
duration = "45s"
title = "Presses"
say = "Press now."
cue = "sounds/ding.wav"
reminders = [
  { at = "20s", say = "Slower." },
  { at = 10, say = "Breathe." },
]

[[steps]]
technique = "rest"
area = "whole back"
duration = 30
cue = false
"""
    routine = load_routine(write(tmp_path, text))
    assert (routine.title, routine.description) == ("Full example", "All fields.")
    assert (routine.language, routine.voice, routine.rate) == ("de", "de", 110)
    c = routine.coaching
    assert not c.partner and c.safety_notice and not c.cautions and not c.tempo
    assert c.check_in_first == 120 * SR and c.check_in_every is None
    assert c.posture_every == 360 * SR  # true: the usual interval even without a partner
    assert c.ticks and not c.heads_up and not c.halfway and not c.countdown
    own = routine.techniques["palm-press"]
    assert own.say == "Press with both palms, slowly."
    assert own.cautions == ("Not on the spine.",) and own.per_minute == 12
    assert routine.techniques["effleurage"] == LIBRARY["effleurage"]
    presses, rest = routine.steps
    assert (presses.title, presses.say) == ("Presses", "Press now.")
    assert presses.cue == str((tmp_path / "sounds" / "ding.wav").resolve())
    assert [(r.at, r.say, r.line) for r in presses.reminders] == [
        (10 * SR, "Breathe.", 38),
        (20 * SR, "Slower.", 37),
    ]
    assert rest.cue is None and rest.title == "Rest, whole back"


def test_self_massage_defaults_have_no_check_ins(tmp_path):
    text = GOOD.replace('title = "Test routine"', 'title = "T"\n[coaching]\npartner = false')
    c = load_routine(write(tmp_path, text)).coaching
    # Self-massage gets its own screening before the massage too.
    assert not c.partner and c.safety_notice
    assert c.check_in_first is c.check_in_every is c.posture_every is None


def test_a_cue_in_the_builtin_cues_folder_is_allowed(tmp_path):
    inside = cues_dir() / "__init__.py"  # any real file in audio_cues/ will do for the rule
    routine = load_routine(write(tmp_path, with_step_lines(f'cue = "{inside}"')))
    assert routine.steps[1].cue == str(inside.resolve())


# --- files that cannot be read -------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(CoachError) as info:
        load_routine(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: no such file; " + (
        "check the path (built-in routines need no path)"
    )


def test_a_folder(tmp_path):
    with pytest.raises(CoachError) as info:
        load_routine(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a folder; give a routine .toml file"


def test_not_utf8_points_at_the_bad_line(tmp_path):
    line, message = one_problem(tmp_path, b'title = "x"\n\ndescription = "caf\xe9"\n')
    assert line == 3
    assert message == "not UTF-8 text; save the file as UTF-8"


def test_not_toml(tmp_path):
    line, message = one_problem(tmp_path, 'title = "x"\n\nrate = = 3\n')
    assert line == 3
    assert message.startswith("not valid TOML: ")


def test_unterminated_string_is_not_toml(tmp_path):
    line, message = one_problem(tmp_path, GOOD.replace('area = "shoulders"', 'area = "shoulders'))
    assert line == 10
    assert message.startswith("not valid TOML: ")


# --- top level -----------------------------------------------------------------------------


def test_missing_title(tmp_path):
    assert one_problem(tmp_path, GOOD.replace('title = "Test routine"', "")) == (
        1,
        'missing title; add a line like title = "Evening back massage"',
    )


def test_no_steps(tmp_path):
    line, message = one_problem(tmp_path, 'title = "x"\n')
    assert (line, message.split(";")[0]) == (1, "no steps")
    line, message = one_problem(tmp_path, 'title = "x"\n\nsteps = []\n')
    assert (line, message.split(";")[0]) == (3, "no steps")


@pytest.mark.parametrize("rate", ["89", "301", '"fast"', "120.5"])
def test_rate_out_of_range(tmp_path, rate):
    line, message = one_problem(tmp_path, GOOD.replace("\n\n", f"\nrate = {rate}\n\n", 1))
    assert line == 2
    assert message == f"rate {rate} is out of range; use 90 to 300 words a minute"


def test_unknown_top_level_key(tmp_path):
    text = GOOD.replace("\n\n", '\ndescripton = "x"\n\n', 1)
    assert one_problem(tmp_path, text) == (
        2,
        'unknown key "descripton" (did you mean "description"?)',
    )


def test_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path):
    line, message = one_problem(tmp_path, GOOD.replace("\n\n", "\nzzz = 1\n\n", 1))
    assert line == 2
    assert message == (
        'unknown key "zzz"; allowed here: '
        "title, description, language, voice, rate, phrases, pronounce, coaching, techniques, steps"
    )


# --- [coaching] ----------------------------------------------------------------------------


def coaching(*lines: str) -> str:
    return GOOD.replace("\n\n", "\n\n[coaching]\n" + "\n".join(lines) + "\n\n", 1)


def test_unknown_coaching_key(tmp_path):
    assert one_problem(tmp_path, coaching("partner = true", "halfwy = false")) == (
        5,
        '[coaching]: unknown key "halfwy" (did you mean "halfway"?)',
    )


def test_coaching_wrong_types(tmp_path):
    lines = problems(write(tmp_path, coaching('partner = "yes"', 'check_in_every = "often"')))
    path = tmp_path / "r.toml"
    assert lines == [
        f'{path}:4: [coaching]: partner must be true or false, not "yes"',
        f'{path}:5: [coaching]: check_in_every "often" is not a duration; '
        'use 90, "90s", "2m", "1m30s" or "1:30"',
    ]


def test_coaching_must_be_a_table(tmp_path):
    line, message = one_problem(tmp_path, GOOD.replace("\n\n", "\ncoaching = 3\n\n", 1))
    assert (line, message) == (2, "coaching must be a table like [coaching], not 3")


# --- steps ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["technique", "area", "duration"])
def test_missing_step_key_points_at_the_step_header(tmp_path, key):
    lines = GOOD.splitlines()
    text = "\n".join(x for i, x in enumerate(lines) if not (7 < i < 11 and x.startswith(key)))
    line, message = one_problem(tmp_path, text)
    assert line == 8
    assert message.startswith("step 2") and message.endswith(f"missing {key}")


def test_the_duration_message_names_step_and_field(tmp_path):
    text = GOOD.replace("duration = 60", 'duration = "2 minutes"').replace(
        '"friction"', '"petrissage"'
    )
    assert one_problem(tmp_path, text) == (
        16,
        'step 3 (Petrissage): duration "2 minutes" is not a duration; '
        'use 90, "90s", "2m", "1m30s" or "1:30"',
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", "duration true is not a duration"),
        ("0", "duration 0 must be more than zero"),
        ("-30", "duration -30 must be more than zero"),
        ('"-30s"', 'duration "-30s" must be more than zero'),
    ],
)
def test_bad_step_durations(tmp_path, value, expected):
    line, message = one_problem(tmp_path, GOOD.replace('duration = "2m"', f"duration = {value}"))
    assert line == 11
    assert message.startswith(f"step 2 (Petrissage): {expected}")


def test_unknown_technique_suggests_the_closest(tmp_path):
    text = GOOD.replace('"effleurage"', '"efleurage"')
    assert one_problem(tmp_path, text) == (
        4,
        'step 1 (efleurage): unknown technique "efleurage" (did you mean "effleurage"?)',
    )


def test_unknown_technique_without_a_close_match_lists_the_known_ones(tmp_path):
    line, message = one_problem(tmp_path, GOOD.replace('"friction"', '"zzz"'))
    assert line == 14
    assert message.startswith('step 3 (zzz): unknown technique "zzz"; known: ')
    assert "effleurage" in message and "tennis-ball" in message


def test_unknown_step_key(tmp_path):
    assert one_problem(tmp_path, with_step_lines("", "remnders = []")) == (
        13,
        'step 2 (Petrissage): unknown key "remnders" (did you mean "reminders"?)',
    )


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("say = 3", "say must be text in quotes, not 3"),
        ("title = false", "title must be text in quotes, not false"),
        ('reminders = "45s"', 'reminders must be a list like [{ at = "45s", say = "Switch'),
        ("reminders = [3]", "reminder 1: must be a table like"),
        ("cue = true", "cue must be a cue name (chime, bell"),
    ],
)
def test_wrong_types_in_a_step(tmp_path, extra, expected):
    line, message = one_problem(tmp_path, with_step_lines(extra))
    assert line == 12
    assert message.startswith(f"step 2 (Petrissage): {expected}")


@pytest.mark.parametrize("say", ['""', '"   "', '""" \n  """'])
def test_empty_step_narration(tmp_path, say):
    line, message = one_problem(tmp_path, with_step_lines(f"say = {say}"))
    assert line == 12
    assert message == (
        "step 2 (Petrissage): say is empty; write what the coach should say, or leave say out"
    )


def test_step_title_names_the_step_in_messages(tmp_path):
    text = with_step_lines('title = "Kneading"', "say = 3")
    assert one_problem(tmp_path, text) == (
        13,
        "step 2 (Kneading): say must be text in quotes, not 3",
    )


# --- reminders -----------------------------------------------------------------------------


def test_reminder_at_or_past_the_end_points_at_its_own_line(tmp_path):
    text = with_step_lines(
        "reminders = [",
        '  { at = "30s", say = "Switch sides." },',
        '  { at = "2m", say = "Too late." },',
        "]",
    )
    assert one_problem(tmp_path, text) == (
        14,
        'step 2 (Petrissage): reminder 2: at "2m" is at or past the step\'s end (2:00); '
        "give a time inside the step",
    )


def test_reminders_on_one_line_are_told_apart(tmp_path):
    text = with_step_lines('reminders = [{ at = 10, say = "a" }, { at = 20, sya = "b" }]')
    path = write(tmp_path, text)
    assert problems(path) == [
        f'{path}:12: step 2 (Petrissage): reminder 2: unknown key "sya" (did you mean "say"?)',
        f"{path}:12: step 2 (Petrissage): reminder 2: missing say",
    ]


def test_empty_reminder_narration_and_missing_at(tmp_path):
    text = with_step_lines(
        "reminders = [",
        '  { at = "30s", say = " " },',
        '  { say = "When?" },',
        "]",
    )
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:13: step 2 (Petrissage): reminder 1: say is empty; "
        "write what the coach should say",
        f"{path}:14: step 2 (Petrissage): reminder 2: missing at",
    ]


def test_reminders_as_tables_of_arrays(tmp_path):
    text = with_step_lines("[[steps.reminders]]", 'at = "3m"', 'say = "Late."', step=3)
    line, message = one_problem(tmp_path, text)
    assert line == 18
    assert message.startswith('step 3 (Friction): reminder 1: at "3m" is at or past')


# --- own techniques ------------------------------------------------------------------------

OWN = """\
title = "Own"

[techniques.palm-press]
label = "Palm presses"
say = "Press."
tempo = "Slowly."
pressure = "Medium."

[[steps]]
technique = "palm-press"
area = "back"
duration = 30
"""


def test_own_technique_problems(tmp_path):
    text = OWN.replace('say = "Press."', 'say = ""\nlabl = "x"').replace(
        'pressure = "Medium."\n', ""
    )
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:3: [techniques.palm-press]: missing pressure",
        f"{path}:5: [techniques.palm-press]: say is empty; write what the coach should say",
        f'{path}:6: [techniques.palm-press]: unknown key "labl" (did you mean "label"?)',
    ]  # and no "unknown technique" for the step that uses it


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("cautions = 3", 'cautions must be a list of sentences like ["Not on the spine."]'),
        ('cautions = [""]', 'cautions must be a list of sentences like ["Not on the spine."]'),
        ("per_minute = 0", "per_minute must be a number of strokes a minute (1 to 600), not 0"),
        (
            "per_minute = true",
            "per_minute must be a number of strokes a minute (1 to 600), not true",
        ),
    ],
)
def test_own_technique_optional_fields(tmp_path, line, message):
    text = OWN.replace('pressure = "Medium."', f'pressure = "Medium."\n{line}')
    assert one_problem(tmp_path, text) == (8, f"[techniques.palm-press]: {message}")


# --- cues ----------------------------------------------------------------------------------


def test_unknown_cue_name(tmp_path):
    assert one_problem(tmp_path, with_step_lines('cue = "chme"')) == (
        12,
        'step 2 (Petrissage): unknown cue "chme" (did you mean "chime"?); '
        "use chime, bell, tick, gong, countdown, a sound file, or false",
    )


def test_cue_outside_the_routine_folder(tmp_path):
    folder = tmp_path / "routines"
    folder.mkdir()
    (tmp_path / "outside.wav").write_bytes(b"RIFF")
    line, message = one_problem(folder, with_step_lines('cue = "../outside.wav"'))
    assert line == 12
    assert message == (
        'step 2 (Petrissage): cue "../outside.wav" is outside the routine\'s folder and '
        "audio_cues/; copy the sound next to the routine file"
    )


def test_cue_symlink_that_escapes_the_folder(tmp_path):
    folder = tmp_path / "routines"
    folder.mkdir()
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    (folder / "ding.wav").symlink_to(tmp_path / "secret.wav")
    line, message = one_problem(folder, with_step_lines('cue = "ding.wav"'))
    assert line == 12
    assert message.startswith('step 2 (Petrissage): cue "ding.wav" is outside the routine')


def test_missing_cue_file(tmp_path):
    line, message = one_problem(tmp_path, with_step_lines('cue = "sounds/none.wav"'))
    assert line == 12
    assert message == (
        f'step 2 (Petrissage): cue file "sounds/none.wav" not found '
        f"(looked for {tmp_path.resolve() / 'sounds' / 'none.wav'})"
    )


# --- many problems at once; line numbers the scanner must not get wrong ------------------


def test_several_problems_give_several_lines_in_file_order(tmp_path):
    text = (
        GOOD.replace('duration = "1:30"', "duration = 0")
        .replace('"petrissage"', '"petrisage"')
        .replace("duration = 60", 'duration = 60\ncue = "gongg"')
    )
    path = write(tmp_path, text)
    lines = problems(path)
    assert [x.split(":")[1] for x in lines] == ["6", "9", "17"]
    assert "step 1 (Effleurage): duration 0" in lines[0]
    assert 'unknown technique "petrisage"' in lines[1]
    assert 'unknown cue "gongg" (did you mean "gong"?)' in lines[2]


def test_strings_comments_and_quoted_keys_do_not_confuse_line_numbers(tmp_path):
    text = (
        "# [[steps]] in a comment\n"
        'title = "T"\n'
        'description = """\n'
        "[[steps]]\n"
        'technique = "not a step"\n'
        '"""\n'
        "\n"
        "[[steps]]\n"
        "technique = 'effleurage' # a comment with = and [\n"
        '"area" = "back \\" [[steps]]"\n'
        'duration = "1 minute"\n'
    )
    assert one_problem(tmp_path, text) == (
        11,
        'step 1 (Effleurage): duration "1 minute" is not a duration; '
        'use 90, "90s", "2m", "1m30s" or "1:30"',
    )


# --- finding routines ----------------------------------------------------------------------


def test_builtin_routines_are_listed_sorted():
    names = [p.name for p in builtin_routines()]
    assert names == sorted(names)
    assert {"classic-back.toml", "quick-relief.toml", "self-massage.toml"} <= set(names)


def test_find_routine_by_name_or_path(tmp_path):
    assert find_routine("classic-back").name == "classic-back.toml"
    assert find_routine("quick-relief.toml").name == "quick-relief.toml"
    own = write(tmp_path, GOOD)
    assert find_routine(str(own)) == own


def test_find_routine_unknown_name_lists_the_builtins():
    with pytest.raises(CoachError) as info:
        find_routine("clasic-back")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith('unknown routine "clasic-back" (did you mean "classic-back"?)')
    assert "classic-back, quick-relief, self-massage" in message


def test_find_routine_missing_path(tmp_path):
    with pytest.raises(CoachError, match=r"nope\.toml: no such file; built-in routines: "):
        find_routine(str(tmp_path / "nope.toml"))


def test_the_documented_example_loads(tmp_path):
    docs = (Path(__file__).parents[1] / "docs" / "routines.md").read_text(encoding="utf-8")
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "soft-bell.wav").write_bytes(b"RIFF")
    routine = load_routine(write(tmp_path, example))
    assert routine.duration == (45 + 120 + 90 + 30) * SR
    assert [s.cue for s in routine.steps][1:] == [
        "bell",
        str((tmp_path / "sounds" / "soft-bell.wav").resolve()),
        None,
    ]


def test_find_routine_empty_name():
    with pytest.raises(CoachError, match=r'^unknown routine ""; built-in routines: classic-back'):
        find_routine("")


# --- [phrases] ----------------------------------------------------------------------------


def phrases(*lines: str) -> str:
    """GOOD with a [phrases] table after the title; the table's first key is on line 4."""
    return GOOD.replace("\n\n", "\n\n[phrases]\n" + "\n".join(lines) + "\n\n", 1)


def test_phrases_load_as_tuples_with_whitespace_tidied(tmp_path):
    text = phrases(
        'check_ins = ["Ça va,   la pression ?", "Plus doux ?"]',
        'next = "Ensuite : {title}."',
        'ending = "C\'est fini."',
    )
    routine = load_routine(write(tmp_path, text))
    assert routine.phrases == {
        "check_ins": ("Ça va, la pression ?", "Plus doux ?"),
        "next": ("Ensuite : {title}.",),
        "ending": ("C'est fini.",),
    }
    assert load_routine(write(tmp_path, GOOD)).phrases == {}


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (['chek_ins = ["x"]'], 4, 'unknown key "chek_ins" (did you mean "check_ins"?)'),
        (['posture = "Stand tall."'], 4, 'posture must be a list of lines like ["...", "..."], '
         'not "Stand tall."'),
        (["safety = []"], 4, 'safety must be a list of lines like ["...", "..."], not a list'),
        (['check_ins = [', '  "Fine?",', '  "  ",', ']'], 6,
         "check_ins entry 2 is empty; write what the coach should say, or leave the key out"),
        (['check_ins = ["Fine?", 3]'], 4, "check_ins entry 2 must be text in quotes, not 3"),
        (["halfway = 1"], 4, "halfway must be text in quotes, not 1"),
        (['ending = " "'], 4,
         "ending is empty; write what the coach should say, or leave the key out"),
        (['next = "Next step."'], 4, 'next must name the coming step as {title}, like '
         '"Next: {title}.", with no other braces'),
        (['next = "Next: {title} in {minutes}."'], 4, 'next must name the coming step as '
         '{title}, like "Next: {title}.", with no other braces'),
        (['next = "Next: {title"'], 4, 'next must name the coming step as {title}, like '
         '"Next: {title}.", with no other braces'),
    ],
)  # fmt: skip
def test_phrase_mistakes_name_their_line(tmp_path, lines, line, message):
    assert one_problem(tmp_path, phrases(*lines)) == (line, f"[phrases]: {message}")


def test_phrases_must_be_a_table(tmp_path):
    text = GOOD.replace("\n\n", '\nphrases = "Bonjour"\n\n', 1)
    assert one_problem(tmp_path, text) == (
        2,
        'phrases must be a table like [phrases], not "Bonjour"',
    )
