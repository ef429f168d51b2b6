"""`coach play`: a LiveSession in the terminal. The command owns what a terminal needs: the
keys and the microphone as controls, the status block as a subscriber, SIGTERM and Ctrl-C,
the exit codes, and the `--from-step` hint that resumes where it stopped."""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO

import click

from coach.cli.options import (
    build_session,
    invocation,
    music_option,
    session_spec,
    timeline_options,
    too_short,
    warn,
)
from coach.errors import CoachError, DeviceGone, NoDeviceError, TooShort
from coach.live.controls import KEY_ACTIONS

if TYPE_CHECKING:
    from coach.session import LiveSession

# How often the status block is redrawn while playing: it shows whole seconds.
REDRAW = 0.1


@click.command(short_help="Guide a massage live, hands-free: the main job.")
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

    from coach.live.keys import Keyboard, parse_keymap
    from coach.live.output import SoundDeviceOutput
    from coach.session import LiveSession

    keymap = parse_keymap(keys_spec)  # a typo fails before anything is synthesized
    coach = invocation()
    resume = [*coach, "play", routine, *_again(options, music, no_keys, listen, keys_spec)]
    listener = _listener() if listen else None
    output = SoundDeviceOutput()
    spec = session_spec(routine, options, music=music, from_step=from_step)
    try:
        # The device is checked once the routine, music and voice are good, before any
        # synthesis (tens of seconds on a cold cache).
        session = build_session(spec, before_synthesis=output.check, ahead=True)
        warn(session)
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


def _again(options: dict, music, no_keys: bool, listen: bool, keys_spec) -> list[str]:
    """The options that play this session again, for the resume hint (without --from-step)."""
    from click.core import ParameterSource

    again = []
    for name in ("minutes", "voice", "rate"):
        if options[name] is not None:
            again += [f"--{name}", str(options[name])]
    again += [f"--{f.replace('_', '-')}" for f in ("no_safety", "ticks") if options[f]]
    if music:
        again += ["--music", music]
    if no_keys:
        again.append("--no-keys")
    if listen:
        again.append("--listen")
    # Keys bound on the command line go into the hint; $COACH_KEYS will still be set next time.
    if click.get_current_context().get_parameter_source("keys_spec") is ParameterSource.COMMANDLINE:
        again += ["--keys", keys_spec]
    return again


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

    view = StatusView(sys.stdout if out is None else out, keys)
    said: list[str] = []
    noted = 0

    def show(state) -> None:
        nonlocal noted
        for line in state.unavailable[len(said) :]:  # a control left out (no microphone)
            view.say(line)
            said.append(line)
        for line in state.notes[noted:]:  # what the voice heard, and what came of it
            view.say(line)
        noted = len(state.notes)
        # live.timeline: it grows while the rest of the speech is made
        view.update(live.timeline, state.sample, state.status == "paused", state.volume_db,
                    state.lag, state.making, state.held)  # fmt: skip

    def hint() -> str:
        step = resume_step(live.timeline, live.state.sample)
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
            ended = live.wait()  # Ctrl-C and SIGTERM interrupt it, as exceptions
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
        if isinstance(state.error, TooShort):  # the real voice, made while playing, ran long
            raise too_short(state.error)
        raise state.error
    # How the session kept time goes with its last line, whether it finished or was stopped.
    summary = lag_summary(state.lag, live.timeline.sample_rate)
    if ended == "finished":
        view.say(f"Session complete.{summary}")
    else:
        view.say(f"Stopped.{summary} {hint()}")
    return code


def _listener():
    from coach.errors import RecognizerMissing
    from coach.live.listen import Listener

    try:
        return Listener()
    except RecognizerMissing as e:
        raise CoachError(
            f"voice commands need pocketsphinx ({e}): install it into the coach's environment "
            "with `pip install 'pocketsphinx>=5.1.1'` (on Python 3.12 that builds it: it needs a "
            "C compiler and CMake), or play without --listen"
        ) from None
