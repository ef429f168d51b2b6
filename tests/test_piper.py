"""The Piper voice with real synthesis: short phrases on the engine, and the command line on
quick-relief with a cache of its Piper clips kept between runs (see conftest.py)."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from routines import routine_toml, step_table

from coach.sound import piper
from coach.sound.piper import SILENCE, PiperSpeech, bundled_voice, resample
from coach.sound.render import SPEECH_FADE
from coach.timeline import SAMPLE_RATE as R

pytestmark = pytest.mark.skipif(
    bool(piper.available()) or bundled_voice() is None, reason="needs piper-tts (make setup)"
)

PHRASES = ["Rest your hands.", "Slide up slowly, then breathe out.", "Stay still."]


def coach(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coach", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_a_phrase_starts_on_its_first_sample_and_is_made_once(tmp_path):
    speech = PiperSpeech(bundled_voice(), cache_dir=tmp_path)
    lengths = speech.lengths(PHRASES)
    assert speech.synthesized == 3
    for text in PHRASES:
        clip = speech.clip(text)
        assert clip.dtype == np.int16 and len(clip) == lengths[text]
        # Sound on the first and last sample: the phrase starts on its event's first sample.
        assert abs(int(clip[0])) > SILENCE and abs(int(clip[-1])) > SILENCE, text
        assert 0.4 * R < len(clip) < 4 * R
        assert np.abs(clip[: R // 10].astype(np.int32)).max() > 1000  # words, not a breath
    # Two sentences are joined with one pause (about 0.3 s of silence), nothing longer.
    two = speech.clip("Rest. Breathe.")
    quiet = np.abs(two.astype(np.int32)) <= SILENCE
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, quiet, 0])))[::2]
    assert max(runs) == pytest.approx(piper.SENTENCE_GAP, abs=0.05 * R)

    again = PiperSpeech(bundled_voice(), cache_dir=tmp_path)
    assert again.lengths(PHRASES) == lengths
    assert again.synthesized == 0  # the cache answered
    assert np.array_equal(again.clip(PHRASES[1]), speech.clip(PHRASES[1]))


def test_the_same_phrase_gives_the_same_bytes_and_a_damaged_clip_is_remade(tmp_path):
    first = PiperSpeech(bundled_voice(), cache_dir=tmp_path / "a")
    clip = first.clip(PHRASES[0])
    path = first.cache_path(PHRASES[0])
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2 // 2 * 2])  # cut in half
    fresh = PiperSpeech(bundled_voice(), cache_dir=tmp_path / "b")
    assert np.array_equal(fresh.clip(PHRASES[0]), clip)  # another process, another cache
    assert first.lengths([PHRASES[0]]) == {PHRASES[0]: len(clip)}
    assert first.synthesized == 2  # the damaged clip was made again, not used
    assert np.array_equal(first.clip(PHRASES[0]), clip)


def test_a_cache_that_cannot_be_written_does_not_make_a_phrase_twice(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("")
    speech = PiperSpeech(bundled_voice(), cache_dir=not_a_folder)
    length = speech.lengths(PHRASES[:1])[PHRASES[0]]
    assert len(speech.clip(PHRASES[0])) == length  # what the player asks for, live
    assert speech.synthesized == 1


def test_slower_rate_gives_longer_phrases(tmp_path):
    slow = PiperSpeech(bundled_voice(), rate=90, cache_dir=tmp_path).lengths(PHRASES[:1])
    fast = PiperSpeech(bundled_voice(), rate=180, cache_dir=tmp_path).lengths(PHRASES[:1])
    assert slow[PHRASES[0]] > 1.5 * fast[PHRASES[0]]


def test_resampling_keeps_pitch_and_length():
    t = np.arange(16000) / 16000
    x = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    y = resample(x, 16000)
    assert len(y) == R
    spectrum = np.abs(np.fft.rfft(y.astype(float)))
    assert np.argmax(spectrum) * R / len(y) == pytest.approx(440, abs=1)


@pytest.fixture
def voice_copy(tmp_path) -> Path:
    """A renamed copy of the bundled voice, as a user would bring their own."""
    bundled = bundled_voice()
    model = tmp_path / "my-voice.onnx"
    shutil.copy(bundled.model, model)
    shutil.copy(bundled.config, f"{model}.json")
    return model


def bad_config(voice_copy: Path, **change) -> None:
    config = json.loads(Path(f"{voice_copy}.json").read_text())
    config["audio"].update(change)
    Path(f"{voice_copy}.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("no json", "its config my-voice.onnx.json is missing beside it"),
        ("not onnx", "not an ONNX voice model"),
        ("rate", "sample rate 96000 is not one a Piper voice uses (8000 to 48000 Hz)"),
        ("bad json", "not a Piper voice config"),
        ("garbage model", "not a Piper voice model"),
    ],
)
def test_a_bad_voice_file_is_one_line_and_exit_2(
    voice_copy, tmp_path, piper_env, breakage, message
):
    if breakage == "no json":
        Path(f"{voice_copy}.json").unlink()
    elif breakage == "not onnx":
        voice_copy.write_text("this is a text file\n")
    elif breakage == "rate":
        bad_config(voice_copy, sample_rate=96000)
    elif breakage == "bad json":
        Path(f"{voice_copy}.json").write_text("{")
    else:  # starts like ONNX, is not: only onnxruntime finds out
        voice_copy.write_bytes(b"\x08\x07" + bytes(1000))
    env = dict(piper_env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    result = coach("preview", "quick-relief", "--voice", str(voice_copy), env=env)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"coach: {voice_copy}") and message in result.stderr
    assert "Traceback" not in result.stderr and not result.stdout


def test_a_routine_naming_a_missing_voice_file_names_the_routine(tmp_path, piper_env):
    routine = tmp_path / "r.toml"
    routine.write_text(
        'title = "R"\nvoice = "nowhere.onnx"\n[[steps]]\ntechnique = "effleurage"\n'
        'area = "back"\nduration = "2m"\n'
    )
    result = coach("check", str(routine), env=piper_env)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"coach: {routine}: nowhere.onnx: no such voice file: `coach voices` lists the voices"
    ]


def timeline(env, *args) -> dict:
    result = coach("preview", "quick-relief", "--format", "json", *args, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_piper_is_the_default_voice_and_espeak_ng_is_a_choice(piper_env):
    neural = timeline(piper_env)
    assert (neural["engine"], neural["voice"]) == ("piper", "en_US-joe-medium")
    assert not neural["estimated"]
    robotic = timeline(piper_env, "--voice", "en-gb")
    assert (robotic["engine"], robotic["voice"]) == ("espeak-ng", "en")
    said = lambda t: [e["text"] for e in t["events"] if e["kind"] == "speech"]  # noqa: E731
    assert said(neural) == said(robotic)
    # Different voices, different lengths: each timeline is measured from its own clips.
    ends = lambda t: [e["end_sample"] for e in t["events"]]  # noqa: E731
    assert ends(neural) != ends(robotic)


def test_a_voice_file_works_by_path_and_shares_the_cache(voice_copy, piper_env):
    default = timeline(piper_env)
    mine = timeline(piper_env, "--voice", str(voice_copy))
    assert (mine["engine"], mine["voice"]) == ("piper", "my-voice")
    # Same model bytes, same clips: the cache key is the model's content, not its name.
    assert mine["events"] == default["events"]


def test_voices_folder_lists_a_users_voice_by_name(voice_copy, piper_env, tmp_path):
    folder = tmp_path / "data" / "coach" / "voices"
    folder.mkdir(parents=True)
    shutil.move(voice_copy, folder / "evening.onnx")
    shutil.move(f"{voice_copy}.json", folder / "evening.onnx.json")
    env = dict(piper_env, XDG_DATA_HOME=str(tmp_path / "data"))
    listed = coach("voices", "-l", "en", env=env)
    names = [line.split()[:3] for line in listed.stdout.splitlines()]
    assert names[:2] == [["en_US-joe-medium", "en-us", "piper"], ["evening", "en-us", "piper"]]
    assert ["en-us", "en-us", "espeak-ng"] in names
    assert timeline(env, "--voice", "evening")["voice"] == "evening"


def test_without_piper_english_falls_back_to_espeak_ng_saying_why(piper_env):
    # The interpreter as it is where piper-tts is not installed: `import piper` fails.
    code = (
        "import sys; sys.modules['piper'] = None\n"
        "from coach.cli import main\n"
        "main(['preview', 'quick-relief', '--format', 'json'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=piper_env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["engine"] == "espeak-ng"
    assert result.stderr.splitlines() == [
        "coach: the piper voice is not available (piper-tts is not installed): "
        "speaking with espeak-ng"
    ]
    named = subprocess.run(
        [sys.executable, "-c", code.replace("'json'", "'json', '--voice', 'en_US-joe-medium'")],
        capture_output=True, text=True, env=piper_env, timeout=120,
    )  # fmt: skip
    assert named.returncode == 2
    assert named.stderr.splitlines() == [
        "coach: piper-tts is not installed: run `make setup` or use --estimate"
    ]


def test_a_warm_preview_imports_neither_onnxruntime_nor_numpy(piper_env):
    timeline(piper_env)  # warm the cache
    code = (
        "import sys\nfrom coach.cli import main\n"
        "try:\n    main(['preview', 'quick-relief', '--format', 'json'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in ('onnxruntime', 'piper', 'numpy') if m in sys.modules),"
        " file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=piper_env, timeout=120
    )
    assert json.loads(result.stdout)["engine"] == "piper"
    assert result.stderr.strip() == "[]"


@pytest.mark.slow
def test_export_with_the_neural_voice_keeps_onsets_transcript_and_loudness(piper_env, tmp_path):
    t = timeline(piper_env)
    wav = tmp_path / "guide.wav"
    result = coach("export", "quick-relief", "-o", str(wav), env=piper_env)
    assert result.returncode == 0, result.stderr
    with wave.open(str(wav)) as f:
        assert (f.getframerate(), f.getnchannels(), f.getnframes()) == (R, 1, t["duration_samples"])
        x = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.int32)
    speech = [e for e in t["events"] if e["kind"] == "speech"]
    for e in speech:
        a, b = e["start_sample"], e["end_sample"]
        # Sound from the event's first samples to its last (trimmed clips, placed to the
        # sample, faded in and out over SPEECH_FADE), and silence just before it unless
        # another sound ends there.
        assert x[a : a + SPEECH_FADE].any() and x[b - SPEECH_FADE : b].any(), e["text"]
        busy = any(o["start_sample"] < a <= o["end_sample"] for o in t["events"] if o is not e)
        if not busy:
            assert x[a - 1] == 0, e["text"]
    vtt = wav.with_suffix(".vtt").read_text()
    assert vtt.count(" --> ") == len(speech) and speech[0]["text"] in vtt
    measured = subprocess.run(
        ["ffmpeg", "-nostats", "-i", str(wav), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True,
    ).stderr  # fmt: skip
    summary = measured[measured.rindex("Summary:") :]
    lufs = float(summary.split("I:")[1].split()[0])
    peak = float(summary.split("Peak:")[1].split()[0])
    assert lufs == pytest.approx(-19, abs=1) and peak <= -1.0


# Short, and with one line where the coach has several of its own: 29 phrases to make cold
# (50 with the coach's defaults), still seconds of synthesis, so the bar shows its time left.
SHORT = routine_toml(
    step_table("effleurage", "upper back", 30, "Long slow strokes."),
    step_table("rest", "whole back", 30, "Rest your hands."),
    title="Two short steps",
    phrases={"safety": ["Stop if anything hurts."], "check_ins": ["How is the pressure?"],
             "posture": ["Stand easy."], "next": "Next: {title}.", "halfway": "Halfway.",
             "ending": "That's all."},
)  # fmt: skip


def stderr_on_a_terminal(routine: Path, env: dict[str, str]) -> str:
    """What `coach preview ROUTINE` shows on a terminal (stderr on a pty)."""
    main, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "coach", "preview", str(routine)],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    shown = b""
    while select.select([main], [], [], 120)[0]:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.wait(60) == 0
    return shown.decode()


@pytest.mark.slow
def test_first_synthesis_shows_a_progress_bar_with_time_left_on_a_terminal(piper_env, tmp_path):
    routine = tmp_path / "short.toml"
    routine.write_text(SHORT)
    env = dict(piper_env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    cold = stderr_on_a_terminal(routine, env)
    assert "Synthesizing speech" in cold and "100%" in cold
    # One bar for the whole session: the massage and the words around it made in one batch.
    assert cold.count("100%") == 1, cold
    # The time left shows from the first phrase made a second or more in (click's rule).
    assert re.search(r"\d+%\s+\d\d:\d\d:\d\d", cold), cold
    assert stderr_on_a_terminal(routine, env) == ""  # warm: nothing to make, no bar


# `coach serve`'s shape: a request thread starts a session built on a cold cache while another
# thread is part-way through importing numpy (a trace function holds it there), as a player's
# threads import at their start. A worker forked from this process waited forever for that
# import's lock: no phrase made.
SERVE_SHAPE = """
import os, sys, threading, time
from coach.session import SessionSpec, build

inside, release = threading.Event(), threading.Event()

def pause_in_numpy(frame, event, arg):
    if event == "call" and frame.f_code.co_filename.endswith("numpy/__init__.py"):
        inside.set()
        release.wait()

def importer():
    sys.settrace(pause_in_numpy)
    import numpy

threading.Thread(target=importer, daemon=True).start()
assert inside.wait(30)
built = []
request = threading.Thread(
    target=lambda: built.append(build(SessionSpec(sys.argv[1]), ahead=True)), daemon=True
)
request.start()
request.join(float(sys.argv[2]))
making = built[0].making if built else None
deadline = time.monotonic() + float(sys.argv[2])
while making and making.done < 3 and not making.finished.is_set() and time.monotonic() < deadline:
    time.sleep(0.1)
if not making or making.done < 3:
    print("built" if built else "not built", making and making.done, flush=True)
    os._exit(1)  # not waiting for workers that hang
making.stop()
print(built[0].speech.engine, making.done, "of", making.total, "made")
release.set()
"""


def test_a_cold_session_in_a_threaded_process_makes_its_phrases(piper_env, tmp_path):
    routine = routine_toml(step_table("rest", "whole back", 20, "Rest your hands."))
    env = dict(piper_env, XDG_CACHE_HOME=str(tmp_path / "cache"))
    # -W: on Python 3.12 forking a threaded process warns; this process must not fork.
    command = [sys.executable, "-W", "error::DeprecationWarning", "-c", SERVE_SHAPE]
    out, err = tmp_path / "out", tmp_path / "err"  # files: a hung worker would hold a pipe open
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [*command, routine, "30"], env=env, stdout=stdout, stderr=stderr,
            start_new_session=True,
        )  # fmt: skip
    try:
        proc.wait(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):  # a worker left behind, if any
            os.killpg(proc.pid, signal.SIGKILL)
    out, err = out.read_text(), err.read_text()
    assert proc.returncode == 0, out + err
    assert re.fullmatch(r"piper \d+ of \d+ made\n", out), out + err
    assert "fork" not in err, err


def test_ctrl_c_in_a_cold_synthesis_stops_the_coach_and_leaves_no_worker(piper_env, tmp_path):
    """Ctrl-C at a terminal reaches its whole process group: the coach, the fork server and
    the workers. The coach says so in one line; no worker prints a traceback or lives on."""
    routine = tmp_path / "short.toml"
    routine.write_text(SHORT)
    cache = tmp_path / "cache"
    proc = subprocess.Popen(
        [sys.executable, "-m", "coach", "export", str(routine), "-o", str(tmp_path / "a.wav")],
        env=dict(piper_env, XDG_CACHE_HOME=str(cache)), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(cache.rglob("*.clip")) and time.monotonic() < deadline:
            time.sleep(0.05)  # the workers are making phrases
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)  # the workers share its stderr: all have ended
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert err.strip() == "coach: interrupted", err  # (after the progress line, if any)
