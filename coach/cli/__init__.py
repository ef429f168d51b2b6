"""The `coach` command line. Every problem ends as one plain line and a non-zero exit."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from coach import __version__
from coach.cli.options import (
    ExportFormat,
    Number,
    build_session,
    music_option,
    session_spec,
    timeline_options,
    warn,
)
from coach.cli.play import play, run_live
from coach.cli.serve import serve
from coach.errors import (
    BadKeys,
    CoachError,
    OutputError,
    PeakTooHigh,
    RoutineError,
    StepOutOfRange,
    ToolMissing,
    UnknownFormat,
)
from coach.files.preview import FORMATS as PREVIEW_FORMATS
from coach.sound import DEFAULT_LOUDNESS
from coach.timeline import clock

__all__ = ["cli", "main", "run_live", "worded"]


class _InOrder(click.Group):
    """Commands listed in the order a newcomer needs them, not alphabetically."""

    def list_commands(self, ctx):
        return list(self.commands)


@click.group(
    cls=_InOrder,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="coach")
def cli():
    """A voice-guided coach for back massage: keep your hands on the back, and listen.

    \b
    Start here:
      coach list                      the built-in routines
      coach play classic-back         live, hands-free guidance (20 minutes)
      coach preview classic-back      the timed script as text, no audio
      coach export classic-back -o guide.mp3   one audio file with chapters
      coach serve                     all of it in a browser, a phone as the remote

    A ROUTINE is a built-in name from `coach list` or the path of your own routine file
    (format: docs/routines.md).
    """


cli.add_command(play)  # first: the main job


@cli.command(short_help="Write a routine as one audio file with chapters.")
@click.argument("routine")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="The audio file to write, e.g. guide.mp3 (its extension picks the format).",
)
@click.option(
    "--format",
    "fmt",
    type=ExportFormat(),
    help="Audio format, when the file's extension does not say it. m4b: an audiobook.",
)
@timeline_options
@click.option(
    "--transcript",
    type=click.Choice(["vtt", "srt", "none"]),
    default="vtt",
    show_default=True,
    help="Subtitles beside the audio file (guide.mp3 -> guide.vtt), one cue per phrase.",
)
@click.option(
    "--loudness",
    type=Number(-30, 0),
    default=DEFAULT_LOUDNESS,
    show_default=True,
    help="Speech loudness in LUFS: -19 suits speakers and headphones, -16 (the loudest) a "
    "noisy room.",
)
@music_option
def export(routine, output, fmt, transcript, loudness, music, **options):
    """Write ROUTINE as one audio file, one chapter per step, with a transcript beside it.

    The file holds exactly the timeline `coach preview --format json` shows with the same
    options. An existing file is replaced only once the new one is complete.
    """
    from coach.files.export import check_loudness, check_output
    from coach.files.export import export as export_file
    from coach.session import sounds as session_sounds

    check_loudness(loudness)
    from coach.files.export import FORMATS

    fmt_spec = FORMATS[check_output(Path(output), fmt, transcript)]  # before any slow work
    # The music is measured first: a file that is not audio fails before any synthesis.
    session = build_session(session_spec(routine, options, music=music, loudness=loudness))
    warn(session)
    sounds = session_sounds(session, fmt_spec.ceiling_dbtp)
    args = dict(fmt=fmt, transcript=transcript, loudness=loudness)
    args["music"] = Path(music) if music else None
    if sys.stderr.isatty():
        bar = click.progressbar(
            length=session.timeline.duration, label="Exporting", file=sys.stderr
        )
        with bar:
            written = export_file(
                session.timeline, sounds, Path(output), progress=bar.update, **args
            )
    else:
        written = export_file(session.timeline, sounds, Path(output), **args)
    for path in written:
        click.echo(f"wrote {path}")


@cli.command(short_help="Show the timed script as text or a picture, no audio.")
@click.argument("routine")
@timeline_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(PREVIEW_FORMATS),
    default="text",
    show_default=True,
    help="text: a table for the terminal; json: the exact timeline; srt/vtt: subtitles; "
    "svg: a picture of the session; html: a page with the picture and the table.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of the terminal.")
@click.option(
    "--estimate",
    is_flag=True,
    help="Estimate speech lengths from words a minute instead of synthesizing (no espeak-ng).",
)
def preview(routine, fmt, output, estimate, **options):
    """Show the timed narration of ROUTINE: what is said and sounded when, no audio.

    Preview, play and export build the same timeline from the same options.
    """
    from coach.files.preview import render_preview

    spec = session_spec(routine, options)
    session = build_session(spec, estimate=estimate, can_estimate=True)
    text = render_preview(session.timeline, fmt)
    if output:  # whole or not at all: a failed run leaves no half-written file
        from coach.cache import write_atomically

        try:
            write_atomically(Path(output), text.encode("utf-8"), asked=True)
        except OSError as e:  # its own words name the temp file, not the one asked for
            raise CoachError(
                f"could not write {output}: {e.strerror or e}: choose another place with -o"
            ) from None
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@cli.command("list", short_help="List the built-in routines.")
def list_command():
    """List the built-in routines with their length."""
    from coach.script.routine import builtin_routines, load_routine

    for path in builtin_routines():
        routine = load_routine(path)
        click.echo(f"{routine.name:<16} {clock(routine.duration):>6}  {routine.title}")


@cli.command(short_help="Check routine files for mistakes.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--strict", is_flag=True, help="Exit 1 on safety warnings too.")
@click.pass_context
def check(ctx, files, strict):
    """Check routine files: every problem as FILE:LINE: message; exit 0 when all are fine.

    Speech lengths come from the speech engine when it is installed (else from an estimate),
    so a step whose words cannot fit is found too. Safety warnings (FILE:LINE: warning: ...)
    leave a routine valid: exit 0, unless --strict.
    """
    from coach.session import SessionSpec
    from coach.sound.voices import can_speak

    failed = warned = False
    for name in files:
        try:
            session = build_session(SessionSpec(name), estimate=not can_speak())
        except CoachError as e:
            # Every file is checked; each problem is reported on its own line.
            click.echo(str(e) if isinstance(e, RoutineError) else f"coach: {worded(e)}", err=True)
            failed = True
            continue
        warn(session)
        warned = warned or bool(session.warnings)
        routine = session.routine
        click.echo(f"ok  {name}  ({routine.title}, {clock(routine.duration)})")
        for note in session.timeline.notes:  # what the coach moved or left out: information
            click.echo(f"    note: {note}")
    if failed:
        ctx.exit(2)
    if strict and warned:
        ctx.exit(1)


cli.add_command(serve)


@cli.command(short_help="List the speech voices.")
@click.option("--language", "-l", help="Only voices for this language, e.g. en or de.")
def voices(language):
    """List the speech voices (use a name with --voice or `voice =` in a routine).

    \b
    piper      natural neural voices: the bundled one, and your own .onnx voices (with their
               .onnx.json) in the voices folder shown below
    espeak-ng  a voice for nearly every language; its language codes (en-gb, de) work as names
    A routine that names no voice gets the bundled Piper voice for English, espeak-ng's for
    other languages; set COACH_VOICE to choose your own default.
    """
    from coach.sound.piper import voices_folder
    from coach.sound.voices import all_voices

    found = all_voices(language)
    if not found:
        raise CoachError(f"no voices for language {language!r}; `coach voices` lists them all")
    for v in found:
        click.echo(f"{v.name:<24} {v.language:<16} {v.engine:<10} {v.gender or ''}".rstrip())
    click.echo(f"(your own Piper voices: {voices_folder()})", err=True)


def worded(error: CoachError) -> str:
    """The error as this command line says it: naming the option or make target that fixes
    it, where the library's error only carries the data."""
    match error:
        case UnknownFormat(given=given, suffix=suffix, formats=formats):
            what = f"format {given!r}" if given else f"file extension {suffix or '(none)'!r}"
            return (
                f"unknown {what}: use --format with one of {', '.join(formats)} "
                "or give the output file one of those extensions"
            )
        case PeakTooHigh():
            return f"{error}: export it at a lower --loudness"
        case ToolMissing(feature="live play"):
            return (
                f"{error}: install it (Debian/Ubuntu: libportaudio2, Fedora: portaudio); "
                "export and preview work without it"
            )
        case OutputError(remedy=remedy):
            fix = {"file": "give a file name", "folder": "choose another"}.get(remedy)
            return f"{error}: {fix or 'choose another place'} with -o"
        case StepOutOfRange(step=step, steps=steps):
            return f"--from-step {step} is out of range: this routine has steps 1 to {steps}"
        case BadKeys(key=str() as key, named=named):
            return f"unknown key {key!r} in --keys: use one character or one of {', '.join(named)}"
        case BadKeys(entry=entry, actions=actions):
            return (
                f"bad --keys entry {entry!r}: write ACTION=KEY with ACTION one of "
                f"{', '.join(actions)} (e.g. next=PAGEDOWN,back=PAGEUP)"
            )
    return str(error)


def _one_line_errors(main):
    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> None:
        try:
            code = main(args=argv, prog_name="coach", standalone_mode=False)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx else "coach"
            click.echo(f"{where}: {e.format_message()} (see `{where} --help`)", err=True)
            code = 2
        except RoutineError as e:
            click.echo(str(e), err=True)
            code = e.exit_code
        except CoachError as e:
            click.echo(f"coach: {worded(e)}", err=True)
            code = e.exit_code
        except (KeyboardInterrupt, click.Abort):
            click.echo("coach: interrupted", err=True)
            code = 130
        except BrokenPipeError:
            sys.stderr.close()  # the reader left (e.g. `| head`); nothing to report
            code = 0
        except OSError as e:  # e.g. stdout on a full disk: the system's words, one line
            where = f" {e.filename}" if e.filename else ""
            click.echo(f"coach:{where} {e.strerror or e}", err=True)
            code = 1
        sys.exit(code if isinstance(code, int) else 0)

    return wrapper


main = _one_line_errors(cli.main)
