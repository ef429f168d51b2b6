"""The `coach` command line. Every problem ends as one plain line and a non-zero exit."""

from __future__ import annotations

import functools
import math
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from coach import __version__
from coach.errors import (
    BadKeys,
    CoachError,
    DeviceGone,
    NoDeviceError,
    PeakTooHigh,
    RoutineError,
    SpeechError,
    StepOutOfRange,
    ToolMissing,
    TooShort,
    UnknownFormat,
)
from coach.files.preview import FORMATS as PREVIEW_FORMATS
from coach.live.controls import KEY_ACTIONS
from coach.script.routine import MAX_HOURS, RATE_RANGE
from coach.sound import DEFAULT_LOUDNESS
from coach.timeline import clock

if TYPE_CHECKING:  # loaded by the commands that use them: numpy alone takes 55 ms to load
    from coach.session import LiveSession, Session, SessionSpec

# How often the status block is redrawn while playing: it shows whole seconds.
REDRAW = 0.1


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
        help="Speaking rate in words a minute. Default: the routine's, else 120.",
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
        **more,
    )


def build_session(
    spec: SessionSpec,
    estimate: bool = False,
    can_estimate: bool = False,
    before_synthesis: Callable[[], None] | None = None,
) -> Session:
    """`coach.session.build` with the command line around it: $COACH_VOICE, a progress bar on
    a terminal, notes and warnings shown, and errors worded with the options that fix them
    (`can_estimate`: the command has --estimate, so a speech failure may suggest it)."""
    from coach.session import build

    bar = _SynthesisBar() if sys.stderr.isatty() else None
    try:
        session = build(
            spec,
            bar,
            preferred_voice=os.environ.get("COACH_VOICE") or None,
            estimate=estimate,
            before_synthesis=before_synthesis,
        )
    except SpeechError as e:
        raise CoachError(_speech_hint(e, can_estimate)) from None
    except TooShort as e:
        if e.minutes:
            hint = f"--minutes {e.minutes:g} is too short for {e.routine}: try --minutes "
        else:
            hint = f"{e.routine} needs more time at this voice and rate: try --minutes "
        raise RoutineError(e.problems, hint + str(e.shortest_minutes)) from None
    for note in session.notes:
        click.echo(f"coach: {note}", err=True)
    for warning in session.warnings:
        click.echo(str(warning), err=True)
    return session


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
            self.bar.__exit__(None, None, None)
            self.bar = None


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

    A ROUTINE is a built-in name from `coach list` or the path of your own routine file
    (format: docs/routines.md).
    """


@cli.command(short_help="Guide a massage live, hands-free: the main job.")
@click.argument("routine")
@timeline_options
@click.option(
    "--from-step",
    type=click.IntRange(min=1),
    metavar="K",
    help="Start at the routine's step K, skipping the pre-roll (stopping early prints the "
    "command that resumes).",
)
@click.option(
    "--no-keys", is_flag=True, help="Ignore the keyboard (always so when not a terminal)."
)
@click.option(
    "--keys",
    "keys_spec",
    envvar="COACH_KEYS",
    metavar="ACTION=KEY,...",
    help="Rebind keys, e.g. for a foot pedal: next=PAGEDOWN,back=PAGEUP,pause=b. ACTION: "
    f"{', '.join(KEY_ACTIONS)}; KEY: one character or SPACE, ENTER, TAB, LEFT, "
    "RIGHT, UP, DOWN, PAGEUP, PAGEDOWN, HOME, END, F5-F8. Naming an action replaces its keys "
    "(name it twice for two). Also read from $COACH_KEYS.",
)
@click.option(
    "--listen",
    is_flag=True,
    envvar="COACH_LISTEN",
    help='Take spoken commands from the microphone, offline: "coach, pause", "coach, next", '
    "... (README: voice commands). The keys keep working. Also $COACH_LISTEN=1.",
)
@music_option
def play(routine, from_step, no_keys, keys_spec, listen, music, **options):
    """Play ROUTINE live: each instruction is spoken at its moment, hands-free.

    \b
    Keys while playing:
      space        pause / resume (the session clock stops too)
      n, Right     next step (from the spoken pre-roll: straight to the massage)
      b, Left      back to the start of this step (within its first 2 s: the previous step)
      r            repeat this step's instruction now
      + / -        volume up / down
      q            quit (Ctrl-C too); both print how to resume

    \b
    With --listen, say (in a gap, not over the coach):
      "coach, pause" / "coach, resume" (or "continue"), "coach, next", "coach, back",
      "coach, repeat", "coach, louder" / "coach, softer", "coach, stop"
    """
    import shlex

    from click.core import ParameterSource

    from coach.live.keys import Keyboard, parse_keymap
    from coach.live.output import SoundDeviceOutput
    from coach.session import LiveSession

    keymap = parse_keymap(keys_spec)  # a typo fails before anything is synthesized
    coach = invocation()
    resume = [*coach, "play", routine]
    for name in ("minutes", "voice", "rate"):
        if options[name] is not None:
            resume += [f"--{name}", str(options[name])]
    resume += [f"--{f.replace('_', '-')}" for f in ("no_safety", "ticks") if options[f]]
    if music:
        resume += ["--music", music]
    if no_keys:
        resume.append("--no-keys")
    if listen:
        resume.append("--listen")
    # Keys bound on the command line go into the hint; $COACH_KEYS will still be set next time.
    if click.get_current_context().get_parameter_source("keys_spec") is ParameterSource.COMMANDLINE:
        resume += ["--keys", keys_spec]

    listener = _listener() if listen else None
    output = SoundDeviceOutput()
    spec = session_spec(routine, options, music=music, from_step=from_step)
    try:
        # The device is checked once the routine, music and voice are good, before any
        # synthesis (tens of seconds on a cold cache).
        session = build_session(spec, before_synthesis=output.check)
        controls = [Keyboard(keymap, enabled=not no_keys)]
        if listener:
            # The coach's own words go into the recognizer's model of what is not a command.
            listener.own_words = [e.text for e in session.timeline.speech()]
            controls.append(listener)
        live = LiveSession(session, output, controls)
        keys = "  ".join(c.help for c in controls if c.help)
        return run_live(live, shlex.join(resume), keys=keys)
    except NoDeviceError as e:  # none before synthesis, or gone since
        export = shlex.join([*coach, "export", routine, "-o", "guide.mp3"])
        raise CoachError(f"{e}: connect one, or make an audio file with `{export}`") from None


class _Terminated(Exception):
    """SIGTERM while playing: ends the session like q, through the same clean-up."""


def _terminated(signum, frame):
    raise _Terminated


def run_live(live: LiveSession, resume: str, out: TextIO | None = None, keys: str = "") -> int:
    """Play `live` in this terminal and return the exit code: 0 finished or quit, 130 Ctrl-C,
    143 SIGTERM. Its status shows on `out` (a block redrawn in place on a terminal, else a
    line per step) with `keys` under it; stopped early, it says how to resume: `resume` (the
    command that plays it again) plus `--from-step` where it stopped. DeviceGone says it too."""
    from coach.live.playback import resume_step
    from coach.live.status import StatusView, lag_summary

    timeline = live.timeline
    view = StatusView(sys.stdout if out is None else out, keys)
    said: list[str] = []

    def show(state) -> None:
        for line in state.unavailable[len(said) :]:  # a control left out (no microphone)
            view.say(line)
            said.append(line)
        view.update(timeline, state.sample, state.status == "paused", state.volume_db, state.lag)

    def hint() -> str:
        step = resume_step(timeline, live.state.sample)
        return f"To resume: {resume}" + ("" if step is None else f" --from-step {step}")

    live.subscribe(show, every=REDRAW)
    # Only the main thread may set a handler (elsewhere signal.signal raises ValueError); a
    # front end running this in a thread keeps SIGTERM as it is.
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if on_main else None
    code = 0
    try:
        live.start()
        try:
            while (ended := live.wait(REDRAW)) is None:
                pass
        except KeyboardInterrupt:
            code = 130
        except _Terminated:
            code = 143
        if code:
            live.stop()
            ended = live.wait()
    finally:
        if on_main:
            signal.signal(signal.SIGTERM, previous)
    state = live.state
    if ended == "failed":
        if isinstance(state.error, DeviceGone):
            raise CoachError(f"{state.error}. {hint()}")
        raise state.error
    if ended == "finished":
        view.say(f"Session complete.{lag_summary(state.lag, timeline.sample_rate)}")
    else:
        view.say(f"Stopped. {hint()}")
    return code


def _listener():
    from coach.errors import RecognizerMissing
    from coach.live.listen import Listener

    try:
        return Listener()
    except RecognizerMissing as e:
        raise CoachError(
            f"voice commands need pocketsphinx ({e}): install it with "
            "`.venv/bin/pip install pocketsphinx` (or `make setup`), or play without --listen"
        ) from None


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


@cli.command(short_help="Show the timed script as text, no audio.")
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
    from coach.sound.speech import espeak_available

    failed = warned = False
    for name in files:
        try:
            session = build_session(SessionSpec(name), estimate=not espeak_available())
        except CoachError as e:
            # Every file is checked; each problem is reported on its own line.
            click.echo(str(e) if isinstance(e, RoutineError) else f"coach: {worded(e)}", err=True)
            failed = True
            continue
        warned = warned or bool(session.warnings)
        routine = session.routine
        click.echo(f"ok  {name}  ({routine.title}, {clock(routine.duration)})")
        for note in session.timeline.notes:  # what the coach moved or left out: information
            click.echo(f"    note: {note}")
    if failed:
        ctx.exit(2)
    if strict and warned:
        ctx.exit(1)


@cli.command(short_help="The coach in a browser, on this computer or from a phone.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="The port to listen on (0: any free one).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="The address to listen on: 0.0.0.0 lets a phone on your network in, with "
    "a secret token in the URL printed.",
)
@click.option(
    "--routines",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of your own routine files to offer too.",
)
@click.option("--no-browser", is_flag=True, help="Do not open the page in a browser.")
def serve(port, host, folder, no_browser):
    """Serve the coach as a web page: choose and check a routine, see it, play it on this
    computer's speakers with big buttons (from a phone too), export it as a download.

    Only this computer can open it unless --host says otherwise; then every request must
    carry the token in the printed URL. Ctrl-C stops it.
    """
    import webbrowser

    from coach.web.app import create_app
    from coach.web.guard import LOOPBACK_NAMES, new_token
    from coach.web.server import BindError, bind, run, url

    token = None if host in (*LOOPBACK_NAMES, "::1") else new_token()
    try:
        sock = bind(host, port)
    except BindError as e:
        hint = " (is another `coach serve` running? try --port 0)" if port else ""
        raise CoachError(f"{e}{hint}") from None
    app = create_app(token, folder, preferred_voice=os.environ.get("COACH_VOICE") or None)
    address = url(sock, host, token)
    click.echo(f"coach serve: open {address}  (Ctrl-C stops it)")
    if token:
        click.echo("  anyone on your network with this address can steer the coach", err=True)
    sys.stdout.flush()
    if not no_browser and sys.stdout.isatty():
        webbrowser.open(address)
    try:
        run(app, sock)
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then passes Ctrl-C on: the way out
        click.echo("coach serve: stopped", err=True)


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
        case ToolMissing(tool=tool, feature=feature):
            return f"{tool} is not installed: install it (e.g. `make setup`) to use --{feature}"
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
