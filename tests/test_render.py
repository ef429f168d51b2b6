"""The renderer places every clip at exactly its sample, mixes overlaps by adding, and can start
anywhere. Real signals: deterministic noise bursts on a hand-built timeline."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from coach.sound.music import DUCK_DB, FADE, FADE_OUT, Music
from coach.sound.render import render
from coach.timeline import SAMPLE_RATE, Event, StepSpan, Timeline

R = SAMPLE_RATE


def burst(event: Event) -> np.ndarray:
    """A clip that differs for every event and every sample, so misplacement cannot hide."""
    rng = np.random.default_rng(event.start)
    return rng.uniform(-0.4, 0.4, event.length).astype(np.float32)


def timeline(events: list[Event], duration: int) -> Timeline:
    steps = (StepSpan(1, "Only", "effleurage", "back", 0, duration),)
    return Timeline("t", duration, steps, tuple(sorted(events, key=lambda e: (e.start, e.end))))


EVENTS = [
    Event("speech", 1001, 1001 + 3333, 1, "instruction", text="one"),
    Event("cue", 2500, 2500 + 777, 1, "tick", name="tick"),  # overlaps the speech
    Event("speech", 9000, 12345, 1, "instruction", text="two"),
]
DURATION = 15000


def whole(tl: Timeline, **kw) -> np.ndarray:
    return np.concatenate(list(render(tl, burst, **kw)))


@pytest.mark.parametrize("block", [1, 100, 2205, 50000])
def test_clips_land_on_their_sample_and_overlaps_add(block):
    tl = timeline(EVENTS, DURATION)
    out = whole(tl, block=block)
    expected = np.zeros(DURATION, dtype=np.float32)
    for e in EVENTS:
        expected[e.start : e.end] += burst(e)
    assert len(out) == DURATION
    np.testing.assert_array_equal(out, expected)
    # The overlap really holds both clips: neither alone explains it.
    speech, tick = EVENTS[0], EVENTS[1]
    overlap = out[tick.start : tick.end]
    assert not np.array_equal(overlap, burst(tick))
    np.testing.assert_array_equal(
        overlap, burst(speech)[tick.start - speech.start : tick.end - speech.start] + burst(tick)
    )


@pytest.mark.parametrize("start", [0, 1, 1500, 2600, 9000, 14999])
def test_render_from_any_sample_is_the_tail_of_the_whole(start):
    tl = timeline(EVENTS, DURATION)
    full = whole(tl, block=1000)
    tail = whole(tl, start=start, block=1000)
    np.testing.assert_array_equal(tail, full[start:])


def test_end_bounds_the_output_and_blocks_have_the_asked_size():
    tl = timeline(EVENTS, DURATION)
    blocks = list(render(tl, burst, start=500, end=10500, block=3000))
    assert [len(b) for b in blocks] == [3000, 3000, 3000, 1000]


def test_a_clip_of_the_wrong_length_is_refused():
    tl = timeline(EVENTS, DURATION)
    with pytest.raises(ValueError, match="samples, the timeline says"):
        list(render(tl, lambda e: np.zeros(e.length + 1, np.float32)))


@pytest.fixture(scope="module")
def steady_music(tmp_path_factory):
    """Two seconds of a steady 220 Hz tone as an Ogg file: loops seamlessly at any level."""
    path = tmp_path_factory.mktemp("music") / "tone.ogg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=220:duration=2",
         "-ar", "44100", "-ac", "2", str(path)],
        check=True,
    )  # fmt: skip
    return path


def level_db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_music_loops_under_everything_and_ducks_around_each_event(steady_music):
    speech = Event("speech", 3 * R, 5 * R, 1, "instruction", text="x")
    tl = timeline([speech], 9 * R + FADE_OUT)
    silent = lambda e: np.zeros(e.length, np.float32)  # noqa: E731
    with Music(steady_music, -33.0) as bed:
        out = np.concatenate(list(render(tl, silent, block=R, music=bed)))
    assert len(out) == tl.duration
    clear = level_db(out[R : 3 * R - FADE])
    ducked = level_db(out[speech.start : speech.end])
    after = level_db(out[speech.end + FADE : 9 * R])  # past the 2 s file: it looped
    assert ducked - clear == pytest.approx(DUCK_DB, abs=0.3)
    assert after == pytest.approx(clear, abs=0.3)
    # The fades sit outside the event: full depth already at its first sample.
    assert level_db(out[speech.start : speech.start + 500]) == pytest.approx(ducked, abs=0.5)
    assert (
        level_db(out[speech.start - FADE // 2 - 250 : speech.start - FADE // 2 + 250]) > ducked + 3
    )


@pytest.mark.parametrize("minutes", [1, 13, 90])
def test_music_fades_smoothly_however_late_in_the_session(minutes):
    """The duck fades in and out over FADE samples at any position (float32 positions are
    not whole numbers past 12.7 minutes, which once turned each fade into steps)."""
    from coach.sound.music import bed_gain

    start = minutes * 60 * R
    span = (start, start + 2 * R)
    gain_db = 20 * np.log10(bed_gain([span], start - R, start + 3 * R, start + 100 * R))
    assert gain_db[0] == pytest.approx(0, abs=1e-4) and gain_db[R] == pytest.approx(DUCK_DB)
    # At most DUCK_DB / FADE between neighbouring samples: a ramp, not a jump.
    assert np.abs(np.diff(gain_db)).max() <= abs(DUCK_DB) / FADE * 1.01


def test_speech_clips_fade_inside_their_length_and_the_fade_is_in_their_key(tmp_path, monkeypatch):
    """Real espeak-ng speech through the clip source export and live playback share."""
    from coach.sound import render as render_module
    from coach.sound.cues import Cues
    from coach.sound.espeak import Speech
    from coach.sound.render import SPEECH_FADE, Sounds

    speech = Speech(voice="en-us")
    event = Event("speech", 0, 1, 1, "instruction", text="Glide up beside the spine.")
    sounds = Sounds(speech, Cues(), cache_dir=tmp_path)
    clip = sounds(event)
    raw = speech.clip(event.text).astype(np.float32)
    assert len(clip) == len(raw)  # the fade sits inside the clip: no onset moves
    assert np.abs(clip[:2]).max() < 1e-3 and np.abs(clip[-2:]).max() < 1e-3
    assert np.abs(clip[SPEECH_FADE : SPEECH_FADE * 4]).max() > 0.01
    # The guide's cached loudness is keyed by the clips' keys: a new fade makes new keys,
    # and the cached normalized clip (unfaded) is faded afresh.
    monkeypatch.setattr(render_module, "SPEECH_FADE", SPEECH_FADE * 2)
    refaded = Sounds(speech, Cues(), cache_dir=tmp_path)
    assert refaded.key(event) != sounds.key(event)
    again, edge = refaded(event), 2 * SPEECH_FADE
    np.testing.assert_array_equal(again[edge:-edge], clip[edge:-edge])
    assert not np.array_equal(again[:edge], clip[:edge])
