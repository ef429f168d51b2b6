"""The one API every front end uses (the command line, a web page): build a session from a
routine and options, then play it live, steered and watched from code.

    session = build(SessionSpec("classic-back", minutes=15))
    live = LiveSession(session)
    live.subscribe(print)          # every change of status or step, off the audio thread
    live.start()                   # returns at once
    live.pause(); live.resume(); live.next()
    live.wait()                    # "finished", "stopped" or "failed"

Nothing here prints, exits, reads the command line's environment or names its flags: problems
are `coach.errors` classes carrying data, and warnings and notes come back as data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from coach.errors import RoutineError, SpeechError, TooShort
from coach.live.controls import Control
from coach.live.output import Output
from coach.live.player import Player, State
from coach.script.routine import PASTED, Routine
from coach.sound import DEFAULT_LOUDNESS
from coach.timeline import Timeline

if TYPE_CHECKING:  # loaded where used: a warm preview builds without numpy (55 ms to load)
    from coach.live.making import Making
    from coach.sound.render import ClipSource, Sounds

__all__ = ["PASTED", "LiveSession", "Session", "SessionSpec", "State", "build", "sounds"]


@dataclass(frozen=True)
class SessionSpec:
    """What to play and how. `routine`: a built-in name, a file path, or the text of a
    routine file. `safety=False` skips the health questions (the stop rule is still said);
    `loudness` is the speech's LUFS (None: DEFAULT_LOUDNESS); `from_step` starts at the
    routine's step K (1..n), past the spoken pre-roll; `seed` picks among the coach's
    alternative lines (None: today's date as YYYYMMDD, so preview, play and export agree for
    the day)."""

    routine: str
    minutes: float | None = None
    voice: str | None = None
    rate: int | None = None
    safety: bool = True
    ticks: bool = False
    music: str | Path | None = None
    loudness: float | None = None
    from_step: int | None = None
    seed: int | None = None

    @property
    def level(self) -> float:
        """The speech loudness in LUFS."""
        return DEFAULT_LOUDNESS if self.loudness is None else self.loudness


@dataclass(frozen=True)
class Session:
    """A routine with the speech, cues and timeline built for a spec. `timeline` is framed:
    lead-in, pre-roll, the massage, aftercare. `notes`: what the user should know about how
    it was made (a voice for another language, lines left in English), one sentence each;
    `warnings`: the safety lint's, each with its file and line. A timeline made by hand (test
    tones) has no routine, speech or cues; its LiveSession gets its `sounds`."""

    spec: SessionSpec
    routine: Routine | None
    speech: object
    cues: object
    timeline: Timeline
    notes: tuple[str, ...] = ()
    warnings: tuple = ()
    # The phrases still being made when built `ahead` (coach.live.making); `timeline` is then
    # final only up to `making.settled`, and grows as they arrive.
    making: Making | None = None


def build(
    spec: SessionSpec,
    progress: Callable[[int, int], None] | None = None,
    *,
    preferred_voice: str | None = None,
    estimate: bool = False,
    before_synthesis: Callable[[], None] | None = None,
    ahead: bool = False,
) -> Session:
    """The session `spec` asks for. `progress(done, total)` hears of each phrase synthesized
    (tens of seconds on a cold cache). `preferred_voice`: the user's default voice, used when
    neither the spec nor the routine names one and it speaks the routine's language.
    `estimate`: speech lengths from words a minute, no engine (a preview). `before_synthesis`
    runs once the routine, music and voice are known good, before any phrase is made (a
    player checks its audio device there). `ahead`: for playing live from the start, make
    the phrases while the session plays (`Session.making`), in the order it needs them,
    unless every phrase is made already or the guessed lengths fit with less than
    AHEAD_MARGIN to spare; `progress` is then not called.

    Raises RoutineError (with every problem and its line), TooShort (with the shortest length
    that fits), SpeechError (with what would fix it), or CoachError.
    """
    from coach.resources import scripts_dir
    from coach.script.lint import lint
    from coach.sound.cues import Cues
    from coach.sound.speech import Estimate

    routine, text = _load(spec.routine)
    if spec.music is not None:  # a file that is not audio fails before any synthesis
        _bed(spec)
    warnings = tuple(lint(routine, text))
    notes = _language_notes(routine)
    rate = spec.rate or routine.rate
    if estimate:
        speech = Estimate(rate) if rate else Estimate()
    else:
        speech, said = _speech(spec, routine, rate, preferred_voice)
        notes += said
        speech.progress = progress
    # Advice may point at a file's words only when the user wrote the file; when a built-in
    # or an option of this run is involved, the error carries the length that fits.
    editable = routine.path == PASTED or Path(routine.path).parent.resolve() != scripts_dir()
    seed = spec.seed if spec.seed is not None else int(date.today().strftime("%Y%m%d"))
    plan = _Plan(spec, routine, speech, Cues(), editable, dict(ticks=spec.ticks or None, seed=seed))
    if before_synthesis:
        before_synthesis()
    making = None
    if ahead and not estimate and spec.from_step is None:
        making = _making(plan)
    if making is not None:  # the player waits, in its lead-in, until synthesis keeps ahead
        making.start()
        timeline = making.timeline
    else:
        timeline = _made_first(plan)
    return Session(spec, routine, speech, plan.cues, timeline, tuple(notes), warnings, making)


@dataclass(frozen=True)
class _Plan:
    """What a session is compiled from, once the routine and the voice are known good."""

    spec: SessionSpec
    routine: Routine
    speech: object
    cues: object
    editable: bool  # the user wrote the routine: its problems may name its lines
    options: dict  # the compiler's: ticks and seed

    @property
    def screening(self) -> bool:
        return self.routine.coaching.safety_notice and self.spec.safety

    def unfit(self, error: RoutineError) -> RoutineError:
        """`error` (the real lengths do not fit) as the user should hear it: the file's own
        problems when its author can fix them and no option of this run is involved, else a
        TooShort with the shortest length that fits (its phrases made now, if not yet)."""
        from coach.script.compiler import shortest_minutes

        spec = self.spec
        options_used = spec.minutes is not None or spec.rate is not None or spec.voice is not None
        if self.editable and not options_used:
            return error
        shortest = shortest_minutes(self.routine, self.speech, self.cues, **self.options)
        return TooShort(error.problems, self.routine.name, spec.minutes, shortest)


def _made_first(plan: _Plan) -> Timeline:
    """The framed timeline, every phrase made first (with `progress`), in one batch: one
    progress report, and the engine's workers kept busy."""
    from coach.script import compiler, framing

    routine, speech, spec = plan.routine, plan.speech, plan.spec
    try:
        speech.lengths(
            [
                *compiler.phrases(routine, spec.minutes, plan.options["seed"]),
                *framing.phrases(routine, plan.screening),
            ]
        )
        timeline = compiler.compile_routine(
            routine, speech, plan.cues, minutes=spec.minutes, editable=plan.editable,
            **plan.options,
        )  # fmt: skip
        return framing.frame(timeline, routine, speech, screening=plan.screening)
    except RoutineError as e:
        raise plan.unfit(e) from None


# A cold `play` starts on guessed lengths (the words-a-minute estimate) only when they fit with
# this much to spare: measured on the built-in routines' own words at 100-160 words a minute,
# espeak-ng and the Piper voice ran up to 11.5 % over the estimate in a step's floor (what a
# routine's own length must hold) and 2.1 % in a routine's shortest length (what --minutes
# must hold): benchmarks/results/margin.md. Closer than this, every phrase is made first, so
# a length that does not fit is said before any sound; a voice straying further still (odd
# words) ends the session with the length that fits (`_Plan.unfit`).
AHEAD_MARGIN = 1.15


def _making(plan: _Plan) -> Making | None:
    """The phrases to make while the session plays, or None when all are made already or the
    guessed lengths do not fit with AHEAD_MARGIN to spare (the whole build then says why, as
    without `ahead`)."""
    from coach.live.making import Making
    from coach.script.arrival import compile_known, order
    from coach.sound.speech import DEFAULT_RATE, Estimate

    routine, speech, spec = plan.routine, plan.speech, plan.spec
    rate = spec.rate or routine.rate or DEFAULT_RATE
    estimate = Estimate(rate)

    def compile(known, guess=estimate):
        return compile_known(
            routine, known, guess, speech, plan.cues, minutes=spec.minutes,
            screening=plan.screening, editable=plan.editable, **plan.options,
        )  # fmt: skip

    need = order(routine, spec.minutes, plan.screening, plan.options["seed"])
    made = speech.made(need.texts())
    if len(made) == len(need.texts()):  # warm: built as ever
        return None
    try:
        compile(made, Estimate(int(rate / AHEAD_MARGIN)))  # lengths AHEAD_MARGIN longer
        return Making(speech, need, compile, plan.unfit)
    except RoutineError:
        return None


def _language_notes(routine: Routine) -> list[str]:
    """A note naming the coach's own lines that stay English in a routine in another
    language, if there are any."""
    from coach.script.routine import english_lines

    if not (english := english_lines(routine)):
        return []
    return [
        f'warning: {routine.path}: language "{routine.language}", but the coach\'s own lines '
        f"stay English; give them in the file (docs/routines.md): {', '.join(english)}"
    ]


def _speech(spec: SessionSpec, routine: Routine, rate: int | None, preferred: str | None):
    """The speech engine and its notes; a SpeechError names the routine file when the voice
    or language that failed came from it."""
    from coach.sound.voices import open_speech

    named = f"{routine.path}: " if routine.voice and not spec.voice else ""  # the file's voice
    try:
        speech, notes = open_speech(
            spec.voice or routine.voice,
            rate=rate,
            language=routine.language,
            preferred=preferred,
            pronounce=routine.pronounce,
        )
    except SpeechError as e:
        where = named or (f"{routine.path}: " if e.need == "voice" and not spec.voice else "")
        raise SpeechError(where + str(e), e.need) from None
    return speech, [named + note for note in notes]


def _is_text(routine: str) -> bool:
    """Whether `routine` is a routine file's text rather than a name or path: every routine
    has `title = ...`, and no name has an "=" or a newline (a path might have an "=")."""
    if "\n" in routine:
        return True
    try:
        return "=" in routine and not Path(routine).exists()
    except OSError:  # a name too long for the file system: not a file
        return True


def _load(given: str) -> tuple[Routine, str]:
    """The routine `given` names, is at, or is the text of; and its text (for the lint)."""
    from coach.script.routine import find_routine, load_routine, load_routine_text

    if not _is_text(given):
        path = find_routine(given)
        return load_routine(path), path.read_text(encoding="utf-8").removeprefix("\ufeff")
    # The very checks, size limit and line numbers a file gets, with problems named PASTED.
    routine = load_routine_text(given, PASTED)
    return dataclasses.replace(routine, name="pasted"), given.removeprefix("\ufeff")


def _bed(spec: SessionSpec) -> tuple[float, float]:
    """(gain dB, true peak dBTP) of the spec's music at its level under the speech."""
    from coach.sound.music import MUSIC_OFFSET_LU, bed_level

    return bed_level(Path(spec.music), spec.level + MUSIC_OFFSET_LU)


def sounds(session: Session, ceiling_dbtp: float | None = None) -> Sounds:
    """The session's clips at the spec's loudness, calibrated so the whole guide measures it
    (as `export` writes it: WAV and FLAC hold these very samples; lossy formats pass a lower
    `ceiling_dbtp` for their codecs; None: CEILING_DBTP), with room left under the ceiling
    for the music's peaks. The calibration is measured once, then cached. A session still
    making its phrases cannot be measured whole: it gets the voice's level (`expected`)."""
    from coach.sound.music import speech_ceiling
    from coach.sound.render import CEILING_DBTP, Sounds, calibrated, expected

    if ceiling_dbtp is None:
        ceiling_dbtp = CEILING_DBTP
    if session.spec.music is not None:
        ceiling_dbtp = speech_ceiling(ceiling_dbtp, _bed(session.spec)[1])
    made = Sounds(session.speech, session.cues, session.spec.level, ceiling_dbtp)
    if session.making is not None:  # the whole guide is not made yet: the voice's level
        return expected(made)
    return calibrated(session.timeline, made)


class LiveSession(Player):
    """`session` played live on `output` (None: the default sound device), from the spec's
    `from_step`, with its music bed and at its loudness, steered by `controls` (the keyboard,
    the voice) and by the methods `pause()`, `resume()`, `next()`, `back()`, `repeat()`,
    `louder()`, `softer()` and `stop()` from any thread: all go through one action queue and
    act on the audio clock. `start()` returns at once; `wait()` says how it ended; `state` is
    a snapshot; `subscribe(callback)` hears of every change (see coach.live.player).

    `sounds` replaces the clips made from the session's speech and cues (a hand-made timeline
    of test tones). StepOutOfRange at once if the spec's step is not in the routine.
    """

    def __init__(
        self,
        session: Session,
        output: Output | None = None,
        controls: Sequence[Control] = (),
        sounds: ClipSource | None = None,
    ) -> None:
        from coach.live.playback import step_start

        self.session = session
        self._sounds = sounds
        begin = step_start(session.timeline, session.spec.from_step)
        super().__init__(
            session.timeline, self._clips, start=begin, output=output, controls=controls,
            making=session.making,
        )  # fmt: skip

    def _clips(self):
        """Made on the player's thread: a calibration may take a while the first time."""
        from coach.sound.music import MUSIC_OFFSET_LU, Music

        clips = self._sounds or sounds(self.session)
        spec = self.session.spec
        if spec.music is None:
            return clips, None
        return clips, Music(Path(spec.music), spec.level + MUSIC_OFFSET_LU)
