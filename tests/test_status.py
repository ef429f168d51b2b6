"""The status block a person glances at during `coach play`."""

from __future__ import annotations

from coach.status import block
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
