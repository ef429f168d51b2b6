"""The coach's words bend around the routine's clock: every built-in at 50% to 300% of its
length, at any rate and voice, and short-stepped routines, compile with every word of their
own; only the author's own words can make a routine fail."""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from command import coach
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from script_rules import (
    assert_keeps_own_words,
    assert_timeline_rules,
    crowded,
    title_echoes,
)

from coach.errors import RoutineError
from coach.resources import cues_dir
from coach.script.compiler import compile_routine, shortest_minutes
from coach.script.layout import PAUSE
from coach.script.routine import (
    RATE_RANGE,
    Coaching,
    Reminder,
    Routine,
    Step,
    builtin_routines,
    load_routine,
)
from coach.script.spoken import sentences
from coach.script.techniques import LIBRARY
from coach.sound.cues import Cues
from coach.sound.espeak import Speech
from coach.sound.speech import Estimate
from coach.timeline import SAMPLE_RATE as S

ROUTINES = {p.stem: load_routine(p) for p in builtin_routines()}
RATES = (90, 100, 160, 200)
# espeak's British English is "en" (what the name en-gb will resolve to), American "en-us".
VOICES = ("en-us", "en")
DOCS = Path(__file__).parent.parent / "docs" / "routines.md"


@functools.cache
def speech(voice: str, rate: int) -> Speech:
    return Speech(voice=voice, rate=rate)


def cues() -> Cues:
    return Cues()


def check(t, routine, total) -> None:
    assert_timeline_rules(t, total)
    assert_keeps_own_words(t, routine)
    assert not crowded(t)
    assert not title_echoes(t)


@pytest.mark.parametrize("voice", VOICES)
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", sorted(ROUTINES))
def test_every_builtin_fits_from_half_to_three_times_its_length(name, rate, voice):
    routine = ROUTINES[name]
    engine = speech(voice, rate)
    as_written = compile_routine(routine, engine, cues())
    check(as_written, routine, routine.duration)
    for share in (0.5, 0.75, 1.5, 3):
        minutes = routine.duration * share / (60 * S)
        t = compile_routine(routine, engine, cues(), minutes=minutes)
        check(t, routine, round(minutes * 60 * S))


def short_routine(seconds, says, rate_techniques=("effleurage", "petrissage", "friction")):
    steps = tuple(
        Step(
            index=i + 1,
            technique=rate_techniques[i % len(rate_techniques)],
            area="back",
            duration=round(d * S),
            title=f"Part {i + 1}",
            say=say,
            cue="chime",
            reminders=(),
            line=5 + i,
        )
        for i, (d, say) in enumerate(zip(seconds, says, strict=True))
    )
    return Routine("short", "short.toml", "Short", steps, dict(LIBRARY), Coaching())


SHORT_SAYS = [
    "Rest your hands on the back.",
    "Glide slowly up the back.",
    "Knead the shoulders gently.",
    "Small circles beside the spine.",
]


@pytest.mark.parametrize("rate", sorted({*RATE_RANGE, *RATES}))
@pytest.mark.parametrize("seconds", [(20, 30, 25, 15), (15, 15, 15, 15), (30, 30, 30)])
def test_steps_of_fifteen_to_thirty_seconds_with_one_sentence_each(seconds, rate):
    routine = short_routine(seconds, SHORT_SAYS[: len(seconds)])
    t = compile_routine(routine, speech("en-us", rate), cues())
    check(t, routine, routine.duration)
    # What the coach left out for want of room is said in a note, as information.
    assert all("no room" in n or "left out" in n for n in t.notes)
    if max(seconds) <= 15 and rate < 300:  # at 300 words a minute all of it fits in 15 s
        assert t.notes


def own_need(routine: Routine, engine) -> list[int]:
    """What each step's own words take in a row, with the least pauses the coach keeps: a
    bound the test computes on its own, without the compiler."""
    lengths = engine.lengths(
        [s for step in routine.steps for s in sentences(step.say)]
        + [r.say for step in routine.steps for r in step.reminders]
    )
    need = []
    for step in routine.steps:
        t = Cues().length(step.cue) + S // 2 if step.cue else 0
        said = sentences(step.say)
        t += sum(lengths[s] for s in said) + (len(said) - 1) * S // 2
        for r in step.reminders:
            t = max(t + PAUSE, r.at) + lengths[r.say]
        need.append(t + PAUSE)
    return need


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seconds=st.lists(st.integers(8, 300), min_size=1, max_size=8),
    says=st.lists(
        st.sampled_from([*SHORT_SAYS, "Switch sides. Knead the other half."]),
        min_size=8,
        max_size=8,
    ),
    reminder_at=st.lists(st.integers(5, 200), min_size=8, max_size=8),
    rate=st.integers(*RATE_RANGE),
    minutes=st.one_of(st.none(), st.floats(0.5, 90)),
)
def test_any_routine_whose_own_words_fit_compiles_at_any_rate(
    seconds, says, reminder_at, rate, minutes
):
    steps = []
    for i, d in enumerate(seconds):
        at = reminder_at[i]
        reminders = (Reminder(at * S, "Keep it slow.", 50 + i),) if at < d else ()
        steps.append(
            Step(
                i + 1,
                "effleurage",
                "back",
                d * S,
                f"Part {i + 1}",
                says[i],
                "chime",
                reminders,
                5 + i,
            )
        )
    coaching = Coaching(check_in_first=20 * S, check_in_every=3 * 60 * S, posture_every=4 * 60 * S)
    routine = Routine("p", "p.toml", "P", tuple(steps), dict(LIBRARY), coaching)
    engine = Estimate(rate)
    need = own_need(routine, engine)
    total = routine.duration if minutes is None else round(minutes * 60 * S)
    if minutes is None:
        assume(all(n <= s.duration for n, s in zip(need, routine.steps, strict=True)))
    else:
        assume(sum(need) <= total)
    t = compile_routine(routine, engine, cues(), minutes=minutes)
    assert_timeline_rules(t, total)
    assert_keeps_own_words(t, routine)
    assert not crowded(t)


def test_a_step_whose_own_words_do_not_fit_names_itself_and_what_would_fit():
    routine = short_routine((30, 3, 30), SHORT_SAYS[:3])
    with pytest.raises(RoutineError) as err:
        compile_routine(routine, speech("en-us", 120), cues())
    (line,) = str(err.value).splitlines()
    found = re.fullmatch(
        r"short.toml:6: step 2 \(Part 2\): its own words need 0:0(\d); the step lasts 0:03; "
        r"lengthen it or shorten its words",
        line,
    )
    assert found
    longer = short_routine((30, int(found.group(1)), 30), SHORT_SAYS[:3])
    compile_routine(longer, speech("en-us", 120), cues())


def test_shortest_minutes_is_the_least_that_compiles():
    routine = ROUTINES["classic-back"]
    engine = speech("en-us", 120)
    shortest = shortest_minutes(routine, engine, cues())
    assert shortest <= 5  # the words alone are short: the coach's own bend around them
    compile_routine(routine, engine, cues(), minutes=shortest)
    with pytest.raises(RoutineError):
        compile_routine(routine, engine, cues(), minutes=shortest - 1)  # the fewest whole minutes


def test_minutes_shares_time_with_sense():
    """Stretched: tapotement stays about a minute and vibration about 40 s. Shrunk: oil keeps
    45 s and contact 20 s while petrissage and effleurage give their time first."""
    routine = ROUTINES["classic-back"]
    engine = speech("en-us", 120)
    long = compile_routine(routine, engine, cues(), minutes=60)
    by_technique = {}
    for s in long.steps:
        by_technique.setdefault(s.technique, []).append((s.end - s.start) / S)
    assert max(by_technique["tapotement"]) <= 60 and max(by_technique["vibration"]) <= 40
    assert max(by_technique["petrissage"]) >= 3 * 4 * 60 - 60
    short = compile_routine(routine, engine, cues(), minutes=10)
    secs = {s.title: (s.end - s.start) / S for s in short.steps}
    assert secs["Applying oil, whole back"] >= 45 and secs["Contact and breathing"] >= 20
    assert secs["Petrissage"] / 240 < secs["Light tapotement"] / 60


# ---------------------------------------------------------------------------------------------
# Through the command line, as a new user meets it.


@pytest.mark.parametrize(
    "args",
    [
        ["classic-back", "--minutes", "10"],
        ["classic-back", "--minutes", "15"],
        ["self-massage", "--minutes", "5"],
        ["quick-relief", "--minutes", "2.5"],
        ["quick-relief", "--rate", "110"],
        ["self-massage", "--rate", "119"],
        ["classic-back", "--rate", "100"],
        ["classic-back", "--rate", "90", "--voice", "en"],
    ],
)
def test_ordinary_requests_on_builtins_work(args):
    result = coach("preview", *args, "--voice", "en-us", "--format", "json")
    assert result.returncode == 0, result.stderr


def test_too_few_minutes_suggests_minutes_and_never_blames_the_builtin_words():
    result = coach("preview", "quick-relief", "--minutes", "0.2", "--voice", "en-us")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "shorten" not in result.stderr
    hint = result.stderr.splitlines()[-1]
    found = re.fullmatch(
        r"coach: --minutes 0.2 is too short for quick-relief: try --minutes (\d+)", hint
    )
    assert found, hint
    assert coach("preview", "quick-relief", "--minutes", found.group(1)).returncode == 0


def test_the_complete_example_in_the_docs_compiles(tmp_path):
    example = re.search(r"## A complete example\n\n```toml\n(.*?)```", DOCS.read_text(), re.S)
    (tmp_path / "evening.toml").write_text(example.group(1))
    (tmp_path / "sounds").mkdir()
    shutil.copy(cues_dir() / "bell.wav", tmp_path / "sounds" / "soft-bell.wav")
    result = coach("preview", "evening.toml", "--voice", "en-us", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_fifteen_minute_routine_from_the_docs_with_a_thirty_second_first_step(tmp_path):
    steps = [("contact", "30s"), ("effleurage", "3m"), ("petrissage", "5m"), ("friction", "2m")]
    steps += [("tapotement", "1m"), ("effleurage", "3m30s"), ("rest", "30s")]
    text = 'title = "Fifteen"\n' + "".join(
        f'[[steps]]\ntechnique = "{t}"\narea = "whole back"\nduration = "{d}"\n' for t, d in steps
    )
    (tmp_path / "fifteen.toml").write_text(text)
    result = coach("preview", "fifteen.toml", "--voice", "en-us", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_an_own_routine_too_short_for_its_words_says_what_to_change(tmp_path):
    (tmp_path / "tight.toml").write_text(
        'title = "Tight"\n[[steps]]\ntechnique = "effleurage"\narea = "back"\nduration = "4s"\n'
        'say = "Glide slowly up the back, then fan out over the shoulders."\n'
    )
    result = coach("preview", "tight.toml", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(
        r"tight.toml:2: step 1 \(.*\): its own words need 0:\d\d; the step lasts 0:04; "
        r"lengthen it or shorten its words",
        line,
    ), line


class Counted(Estimate):
    """The estimate, counting how often the compiler asks it for lengths."""

    calls = 0

    def lengths(self, texts):
        self.calls += 1
        return super().lengths(texts)


def test_one_lengths_call_per_compile_whatever_the_minutes():
    """A neural engine synthesizes in parallel within one call: the compiler asks once."""
    routine = ROUTINES["classic-back"]
    for minutes in (None, 10, 60):
        engine = Counted()
        compile_routine(routine, engine, cues(), minutes=minutes)
        assert engine.calls == 1


def test_a_routine_phrases_replace_the_coach_own():
    phrases = {
        "check_ins": ("Wie ist der Druck?", "Mehr oder weniger?"),
        "posture": ("Knie locker.",),
        "next": ("Gleich: {title}.",),
        "halfway": ("Halbzeit.",),
        "ending": ("Fertig. Ruh dich aus.",),
    }
    routine = ROUTINES["classic-back"]
    t = compile_routine(replace(routine, phrases=phrases), speech("en-us", 120), cues())
    by_role = {}
    for e in t.speech():
        by_role.setdefault(e.role, set()).add(e.text)
    assert by_role["check-in"] == set(phrases["check_ins"])
    assert by_role["posture"] == {"Knie locker."}
    assert "Gleich: Petrissage." in by_role["next"]
    assert by_role["halfway"] == {"Halbzeit."} and by_role["end"] == {"Fertig. Ruh dich aus."}


def test_a_caution_with_no_room_at_first_use_comes_at_the_next_use():
    routine = short_routine((10, 120, 120), ["Stretch gently."] * 3, ("stretch",))
    t = compile_routine(routine, speech("en-us", 120), cues())
    cautions = [e for e in t.speech() if e.role == "caution"]
    assert {e.step for e in cautions} == {2}
    assert {e.text for e in cautions} == set(sentences(" ".join(LIBRARY["stretch"].cautions)))
    assert any("step 1: no room for" in n and "a caution" in n for n in t.notes)


def test_a_place_caution_comes_in_every_step_with_room_for_it():
    routine = short_routine((10, 120, 120), ["Tap lightly."] * 3, ("tapotement",))
    t = compile_routine(routine, speech("en-us", 120), cues())
    cautions = [e for e in t.speech() if e.role == "caution"]
    assert {e.step for e in cautions} == {2, 3}
    assert {e.text for e in cautions} == set(sentences(" ".join(LIBRARY["tapotement"].cautions)))
    assert any("step 1: no room for" in n and "a caution" in n for n in t.notes)


# quick-relief at half length is 2:30 of massage whose every step opens with where to work and
# its place's cautions (which outrank the check-in): at 2:45 a quiet moment is left for it.
@pytest.mark.parametrize(("name", "share"), [("quick-relief", 0.55), ("classic-back", 0.5)])
def test_when_shrunk_the_first_check_in_and_the_gong_are_kept(name, share):
    """The first check-in outranks pressure and tempo; the gong still ends the session."""
    routine = ROUTINES[name]
    minutes = routine.duration * share / 60 / S
    t = compile_routine(routine, speech("en-us", 120), cues(), minutes=minutes)
    first = next(e for e in t.speech() if e.role == "check-in")
    assert first.start <= 5 * 60 * S
    assert t.events[-1].name == "gong" and t.events[-1].end == t.duration
