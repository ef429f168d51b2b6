"""The live status of `coach play`: one block redrawn in place on a terminal, or one plain line
per step change when output goes to a file or a pipe (a log stays readable). Either way it says
when the machine stalled the sound and how much silence was skipped to get back on time.
"""

from __future__ import annotations

import shutil
from typing import TextIO

from coach.live.clock import Lag
from coach.timeline import Timeline

BAR = 20  # characters of the speech-making progress bar


def time_left(samples: int, rate: int) -> str:
    """Time left as m:ss, rounded up: "0:01" until the very end, never "0:00" too early."""
    secs = max(0, -(-samples // rate))
    return f"{secs // 60}:{secs % 60:02d}"


def step_line(timeline: Timeline, position: int) -> str:
    step = timeline.step_at(position)
    if not timeline.is_massage(step):  # the pre-roll or the aftercare: a title, no number
        return step.title
    n = len(timeline.massage_steps())
    what = ", ".join(x for x in (step.technique, _unless_said(step.area, step.title)) if x)
    return f"Step {step.index} of {n}: {step.title}" + (f" ({what})" if what else "")


def _unless_said(area: str, title: str) -> str:
    """The area, unless the title already names it ("Applying oil, whole back")."""
    return "" if area.lower() in title.lower() else area


def next_line(timeline: Timeline, position: int) -> str:
    k = timeline.steps.index(timeline.step_at(position))
    if k + 1 >= len(timeline.steps):
        return "Next: the end"
    nxt = timeline.steps[k + 1]
    area = _unless_said(nxt.area, nxt.title)
    return f"Next: {nxt.title}" + (f" ({area})" if area else "")


def dropouts(n: int) -> str:
    return f"{n} dropout" + ("s" if n != 1 else "")


def lag_line(lag: Lag, rate: int) -> str:
    """How the session is keeping time after a dropout (the machine stalled the sound)."""
    if lag.behind:
        return f"{dropouts(lag.dropouts)}: {lag.behind / rate:.2f} s behind, catching up"
    return f"{dropouts(lag.dropouts)}: caught up {lag.caught_up / rate:.2f} s, on time"


def lag_summary(lag: Lag, rate: int) -> str:
    """The closing line's note, "(N dropouts, X s caught up)", or nothing without a dropout."""
    if not lag.dropouts:
        return ""
    return f" ({dropouts(lag.dropouts)}, {lag.caught_up / rate:.2f} s caught up)"


def making_line(making: tuple[int, int] | None, held: bool) -> str:
    """How the speech still being made is coming on (a bar), and whether the session holds
    in silence for it."""
    if making is None:
        return "HOLDING  waiting for speech" if held else ""
    done, total = making
    filled = BAR * done // max(total, 1)
    said = f"making speech: {done} of {total} [{'#' * filled}{'.' * (BAR - filled)}]"
    return f"HOLDING  {said}, goes on once it is made" if held else said


def block(
    timeline: Timeline,
    position: int,
    paused: bool,
    volume_db: float,
    keys: str,
    lag: Lag | None = None,
    making: str = "",
) -> list[str]:
    step = timeline.step_at(position)
    rate = timeline.sample_rate
    state = "PAUSED  " if paused else ""
    vol = f"volume {volume_db:+.0f} dB"
    lines = [
        timeline.title,
        step_line(timeline, position),
        f"{state}{time_left(step.end - position, rate)} left in step, "
        f"{time_left(timeline.duration - position, rate)} left in session, {vol}",
        next_line(timeline, position),
    ]
    if lag is not None and lag.dropouts:
        lines.append(lag_line(lag, rate))
    if making:
        lines.append(making)
    if keys:
        lines.append(keys)
    return lines


class StatusView:
    """Shows where the session is. On a TTY the block is redrawn in place (ANSI cursor moves)
    and only when its text changes; elsewhere a plain line is printed at each step change."""

    def __init__(self, out: TextIO, keys_help: str = "") -> None:
        self.out = out
        self.tty = out.isatty()
        self.keys_help = keys_help
        self._shown: list[str] = []
        self._step: int | None = None  # none shown yet (the pre-roll is step 0)
        self._catch_ups = 0
        self._held = False

    def update(
        self,
        timeline: Timeline,
        position: int,
        paused: bool,
        volume_db: float,
        lag: Lag | None = None,
        making: tuple[int, int] | None = None,
        held: bool = False,
    ) -> None:
        """`making`: (made, to make) while speech is still made; `held`: waiting for it."""
        said = making_line(making, held)
        if self.tty:
            # One screen row per line, or the cursor moves would miss wrapped rows.
            width = shutil.get_terminal_size().columns - 1
            lines = [line[:width] for line in block(timeline, position, paused, volume_db,
                                                    self.keys_help, lag, said)]  # fmt: skip
            if lines != self._shown:
                up = f"\x1b[{len(self._shown)}F" if self._shown else ""
                body = "".join(f"\x1b[2K{line}\n" for line in lines)
                self.out.write(f"{up}{body}\x1b[J")
                self.out.flush()
                self._shown = lines
            return
        if lag is not None and lag.catch_ups != self._catch_ups:
            self._catch_ups = lag.catch_ups
            self._line(f"{lag_line(lag, timeline.sample_rate)}.")
        if held != self._held:
            self._held = held
            self._line(f"{said}." if held else "Speech made: the session goes on.")
        step = timeline.step_at(position)
        if step.index != self._step:
            self._step = step.index
            left = time_left(timeline.duration - step.start, timeline.sample_rate)
            now, after = step_line(timeline, position), next_line(timeline, position)
            self._line(f"{now}. {left} left. {after}")

    def say(self, message: str) -> None:
        """A line below the block (the block is drawn afresh under it on the next update)."""
        self._line(message)
        self._shown = []

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()
