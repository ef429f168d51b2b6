"""The status block a person glances at during `coach play`."""

from __future__ import annotations

import io

from coach.live.clock import Lag
from coach.live.status import StatusView, block, lag_summary, making_line
from coach.timeline import SAMPLE_RATE as S
from coach.timeline import StepSpan, Timeline

TIMELINE = Timeline(
    title="Evening massage",
    duration=150 * S,
    steps=(
        StepSpan(1, "Long strokes", "effleurage", "whole back", 0, 60 * S),
        StepSpan(2, "Applying oil, whole back", "oil", "whole back", 60 * S, 90 * S),
        StepSpan(3, "Still hands", "rest", "whole back", 90 * S, 150 * S),
    ),
    events=(),
)


def test_block_says_where_the_session_is_and_what_comes_next():
    lines = block(TIMELINE, 15 * S + 1, paused=False, volume_db=-3, keys="q quit")
    assert lines == [
        "Evening massage",
        "Step 1 of 3: Long strokes (effleurage, whole back)",
        "0:45 left in step, 2:15 left in session, volume -3 dB",
        "Next: Applying oil, whole back",  # the title names the area already
        "q quit",
    ]


def test_block_while_paused_in_the_last_step():
    lines = block(TIMELINE, 100 * S, paused=True, volume_db=0, keys="")
    assert lines[1] == "Step 3 of 3: Still hands (rest, whole back)"
    assert lines[2].startswith("PAUSED  0:50 left in step, 0:50 left in session")
    assert lines[3] == "Next: the end"
    assert len(lines) == 4


def test_time_left_rounds_up_so_zero_means_over():
    lines = block(TIMELINE, 60 * S - 1, paused=False, volume_db=0, keys="")
    assert lines[2].startswith("0:01 left in step")


def test_block_says_how_a_dropout_was_made_up():
    behind = Lag(dropouts=1, behind=S // 2)
    assert block(TIMELINE, 0, False, 0, "", behind)[-1] == "1 dropout: 0.50 s behind, catching up"
    done = Lag(dropouts=2, catch_ups=2, caught_up=S * 3 // 2)
    assert block(TIMELINE, 0, False, 0, "", done)[-1] == "2 dropouts: caught up 1.50 s, on time"
    assert len(block(TIMELINE, 0, False, 0, "", Lag())) == 4  # no dropout, no line


def test_a_log_gets_a_line_per_catch_up():
    out = io.StringIO()
    view = StatusView(out)
    view.update(TIMELINE, 0, False, 0, Lag())
    view.update(TIMELINE, S, False, 0, Lag(dropouts=1, behind=S))  # still catching up
    view.update(TIMELINE, 2 * S, False, 0, Lag(dropouts=1, catch_ups=1, caught_up=S))
    view.update(TIMELINE, 3 * S, False, 0, Lag(dropouts=1, catch_ups=1, caught_up=S))
    lines = out.getvalue().splitlines()
    assert lines[1:] == ["1 dropout: caught up 1.00 s, on time."]
    assert lag_summary(Lag(dropouts=1, catch_ups=1, caught_up=S), S) == (
        " (1 dropout, 1.00 s caught up)"
    )
    assert lag_summary(Lag(), S) == ""


def test_the_block_shows_speech_still_being_made_and_a_hold_for_it():
    made = making_line((12, 80), held=False)
    assert made == "making speech: 12 of 80 [###.................]"
    assert block(TIMELINE, 0, False, 0, "q quit", None, made)[-2:] == [made, "q quit"]
    held = making_line((79, 80), held=True)
    assert (
        held == "HOLDING  making speech: 79 of 80 [###################.], goes on once it is made"
    )
    assert making_line(None, held=False) == ""


def test_a_log_says_when_the_session_holds_for_speech_and_goes_on():
    out = io.StringIO()
    view = StatusView(out)
    view.update(TIMELINE, 0, False, 0, Lag(), (3, 9), False)
    view.update(TIMELINE, 60 * S, False, 0, Lag(), (5, 9), True)
    view.update(TIMELINE, 60 * S, False, 0, Lag(), (6, 9), True)  # still holding: no new line
    view.update(TIMELINE, 61 * S, False, 0, Lag(), None, False)
    lines = out.getvalue().splitlines()
    assert lines[-3:] == [
        "HOLDING  making speech: 5 of 9 [###########.........], goes on once it is made.",
        "Step 2 of 3: Applying oil, whole back (oil). 1:30 left. Next: Still hands (whole back)",
        "Speech made: the session goes on.",
    ]
