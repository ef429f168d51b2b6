"""The options the commands share, and building a session with the command line around it:
$COACH_VOICE, a progress bar, notes and warnings shown, errors worded with the options that
fix them."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from coach.errors import CoachError, RoutineError, SpeechError, TooShort
from coach.script.routine import MAX_HOURS, RATE_RANGE

if TYPE_CHECKING:  # loaded by the commands that use them: numpy alone takes 55 ms to load
    from coach.session import Session, SessionSpec


class Number(click.FloatRange):
    """A float in a range; unlike click's FloatRange, "nan" is refused (it passes every
    comparison, so it slipped through as silence or a traceback)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


SHARED_OPTIONS = (
    click.option(
        "--minutes",
        type=Number(min=0, min_open=True, max=MAX_HOURS * 60),
        help="Stretch or shrink the routine to this many minutes, keeping every instruction.",
    ),
    click.option(
        "--voice",
        help="Speech voice: a name from `coach voices`, or a Piper model FILE.onnx. Default: "
        "the routine's, else $COACH_VOICE, else the natural (Piper) voice for English.",
    ),
    click.option(
        "--rate",
        type=click.IntRange(*RATE_RANGE),
        help="Speaking rate in words a minute as heard. Default: the routine's, else 110.",
    ),
    click.option(
        "--no-safety",
        is_flag=True,
        help="Skip the health questions before the massage (you asked them already); the stop "
        "rule is still said.",
    ),
    click.option(
        "--ticks", is_flag=True, help="Add a soft rhythm tick at each technique's stroke tempo."
    ),
    click.option(
        "--seed",
        type=click.IntRange(0),
        help="Which of the coach's alternative wordings to use, as a whole number; the same "
        "seed gives the same guide. Default: today's date (YYYYMMDD), shown in preview.",
    ),
)


music_option = click.option(
    "--music",
    metavar="FILE",
    help="An audio file looped quietly under the whole guide, lower still while the voice speaks.",
)


class ExportFormat(click.Choice):
    """The export formats, as coach.files.export defines them, read only when a value or the
    help needs them: loading the exporter (numpy, mutagen) for every command cost 130 ms."""

    def __init__(self) -> None:
        self.case_sensitive = True

    @property
    def choices(self):
        from coach.files.export import FORMATS

        return tuple(FORMATS)


def invocation() -> list[str]:
    """The command as the user can run it again: `coach` when that is what PATH finds, else
    the path they ran it by (`.venv/bin/coach` after `make play`), or `python -m coach`."""
    import shutil

    ran = sys.argv[0]
    if Path(ran).name == "__main__.py":
        return [sys.executable, "-m", "coach"]
    found = shutil.which(Path(ran).name)
    if found and Path(found).resolve() == Path(ran).resolve():
        return [Path(ran).name]
    return [ran]


def timeline_options(command):
    """The options that decide the timeline: preview, play and export share them exactly."""
    for option in reversed(SHARED_OPTIONS):
        command = option(command)
    return command


def session_spec(routine: str, options: dict, **more) -> SessionSpec:
    """The spec the shared options (and `more`, e.g. music) ask for."""
    from coach.session import SessionSpec

    return SessionSpec(
        routine,
        minutes=options["minutes"],
        voice=options["voice"],
        rate=options["rate"],
        safety=not options["no_safety"],
        ticks=options["ticks"],
        seed=options.get("seed"),
        **more,
    )


def build_session(
    spec: SessionSpec,
    estimate: bool = False,
    can_estimate: bool = False,
    before_synthesis: Callable[[], None] | None = None,
    ahead: bool = False,
) -> Session:
    """`coach.session.build` with the command line around it: $COACH_VOICE, a progress bar on
    a terminal, notes shown, and errors worded with the options that fix them
    (`can_estimate`: the command has --estimate, so a speech failure may suggest it; `ahead`:
    play may start before every phrase is made)."""
    from coach.session import build

    bar = _SynthesisBar() if sys.stderr.isatty() else None
    try:
        session = build(
            spec,
            bar,
            preferred_voice=os.environ.get("COACH_VOICE") or None,
            estimate=estimate,
            before_synthesis=before_synthesis,
            ahead=ahead,
        )
    except SpeechError as e:
        raise CoachError(_speech_hint(e, can_estimate)) from None
    except TooShort as e:
        raise too_short(e) from None
    finally:
        if bar is not None:  # built ahead, the rest is made while playing: the status says it
            bar.close()
    for note in session.notes:
        click.echo(f"coach: {note}", err=True)
    return session


def too_short(error: TooShort) -> RoutineError:
    """`error` with the option that fixes it: the length that fits, as --minutes."""
    if error.minutes:
        hint = f"--minutes {error.minutes:g} is too short for {error.routine}: try --minutes "
    else:
        hint = f"{error.routine} needs more time at this voice and rate: try --minutes "
    return RoutineError(error.problems, hint + str(error.shortest_minutes))


def warn(session: Session) -> None:
    """The safety warnings, for the commands that play, write or check a routine (a preview
    shows the script, not advice on it)."""
    for warning in session.warnings:
        click.echo(str(warning), err=True)


def _speech_hint(error, can_estimate: bool) -> str:
    """The speech error with what to do about it, naming only what this command offers."""
    estimate = " or use --estimate" if can_estimate else ""
    hint = {
        "install": f"run `make setup`{estimate}",
        "voice": "`coach voices` lists the voices",
        "retry": f"try again{estimate}",
    }.get(error.need)
    return f"{error}: {hint}" if hint else str(error)


class _SynthesisBar:
    """A progress bar with the time left, on the terminal, while phrases are synthesized: a
    routine's first run with the neural voice makes its phrases for tens of seconds."""

    def __init__(self):
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Synthesizing speech", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1)
        if done == total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
