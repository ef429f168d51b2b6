"""Regenerate the built-in cue sounds in audio_cues/ (deterministic: same bytes every run).

    .venv/bin/python tools/make_cues.py          # writes audio_cues/*.wav and prints measurements

Every cue is additive synthesis of a few warm partials, each with a soft attack and an
exponential decay: sounds for a massage room, not alarm beeps. Each file is 16-bit mono at
SAMPLE_RATE, starts with sound at its first sample and ends where its decay reaches -60 dBFS,
faded to exactly zero (coach.sound.cues.trim, the same rule applied to users' own cue files).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from coach.resources import BUILTIN_CUES
from coach.sound.cues import trim
from coach.timeline import SAMPLE_RATE

OUT = Path(__file__).resolve().parent.parent / "audio_cues"
PEAK = 10 ** (-3 / 20)  # -3 dBFS: headroom; the renderer sets each cue's loudness anyway

# Note frequencies (Hz), equal temperament.
C3, C4, E4, G4, A4, C5, D5, E5 = 130.81, 261.63, 329.63, 392.00, 440.00, 523.25, 587.33, 659.26

# A soft struck bar: (frequency ratio, amplitude, decay time constant in s) per partial.
# Higher partials are weaker and die sooner, which is what makes a tone sound warm.
BAR = ((1.0, 1.0, 1.0), (2.0, 0.30, 0.55), (3.0, 0.10, 0.35), (4.2, 0.04, 0.2))
# A small bell: the hum an octave down and a minor-third "tierce" give it its bell colour.
BELL = ((0.5, 0.20, 0.9), (1.0, 1.0, 1.0), (1.2, 0.12, 0.6), (1.5, 0.10, 0.5), (2.0, 0.25, 0.45))
# A gong: inharmonic partials, two of them slightly detuned so they beat slowly.
GONG = ((1.0, 1.0, 1.0), (1.004, 0.6, 1.0), (2.09, 0.35, 0.6), (2.76, 0.2, 0.45), (3.51, 0.08, 0.3))


def note(freq: float, secs: float, tau: float, partials, attack: float) -> np.ndarray:
    """One struck note: `partials` scaled by `freq` and `tau`, a raised-cosine attack."""
    t = np.arange(round(secs * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(
        amp * np.exp(-t / (tau * decay)) * np.sin(2 * np.pi * freq * ratio * t)
        for ratio, amp, decay in partials
        if freq * ratio < SAMPLE_RATE / 2
    )
    ramp = np.minimum(t / attack, 1.0)
    return tone * (0.5 - 0.5 * np.cos(np.pi * ramp))


def mix(length: float, *parts: tuple[float, np.ndarray]) -> np.ndarray:
    """Notes laid at their onsets (seconds) on `length` seconds of silence."""
    out = np.zeros(round(length * SAMPLE_RATE))
    for onset, part in parts:
        at = round(onset * SAMPLE_RATE)
        out[at : at + len(part)] += part[: len(out) - at]
    return out


def chime() -> np.ndarray:
    """Step change, ~1.2 s: one warm struck bar on C5."""
    return note(C5, 2.0, 0.2, BAR, attack=0.004)


def bell() -> np.ndarray:
    """Halfway, ~2 s: a soft two-note bell, E5 falling to C5 (a major third)."""
    return mix(
        3.0, (0.0, note(E5, 3.0, 0.2, BELL, 0.004)), (0.45, note(C5, 2.5, 0.25, BELL, 0.004))
    )


def tick() -> np.ndarray:
    """Stroke rhythm, ~60 ms: a muffled wooden knock, two body resonances, no click."""
    knock = ((1.0, 1.0, 1.0), (2.3, 0.35, 0.6))
    return note(620.0, 0.2, 0.009, knock, attack=0.0015)


def gong() -> np.ndarray:
    """End of the session, ~5 s: a low soft gong under a falling three-note phrase."""
    return mix(
        7.0,
        (0.0, 0.7 * note(C3, 7.0, 0.85, GONG, attack=0.006)),
        (0.0, 0.6 * note(G4, 4.0, 0.32, BAR, attack=0.006)),
        (0.5, 0.55 * note(E4, 4.0, 0.35, BAR, attack=0.006)),
        (1.0, 0.55 * note(C4, 5.0, 0.45, BAR, attack=0.006)),
    )


def countdown() -> np.ndarray:
    """Last minutes, ~0.8 s, wordless: a round A4 that holds, then fades (no strike)."""
    t = np.arange(round(1.0 * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(amp * np.sin(2 * np.pi * A4 * k * t) for k, amp in ((1, 1.0), (2, 0.15), (3, 0.04)))
    # The level falls as a parabola in dB: it holds near full at first, then slips away,
    # reaching -60 dB at 0.8 s. A 15 ms attack keeps it from starting with a knock.
    fall = 10 ** (-60 * (t / 0.8) ** 2 / 20)
    return tone * fall * np.minimum(t / 0.015, 1.0)


CUES = {"chime": chime, "bell": bell, "tick": tick, "gong": gong, "countdown": countdown}


def render(name: str) -> np.ndarray:
    """The cue as the int16 samples written to its file."""
    x = CUES[name]()
    pcm = np.round(x * (PEAK * 32767 / np.abs(x).max())).astype(np.int16)
    return trim(pcm)


def measure(pcm: np.ndarray) -> dict[str, float]:
    """What a listen-check looks at: length, peak, brightness, head and tail."""
    x = pcm / 32768.0
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return {
        "seconds": len(x) / SAMPLE_RATE,
        "peak_dbfs": 20 * np.log10(np.abs(x).max()),
        "centroid_hz": float((freqs * power).sum() / power.sum()),
        "above_4khz": float(power[freqs > 4000].sum() / power.sum()),
        "first_ms_dbfs": 20 * np.log10(np.abs(x[: SAMPLE_RATE // 1000]).max()),
        "last_sample": int(pcm[-1]),
    }


def write(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def main() -> None:
    assert set(CUES) == set(BUILTIN_CUES), "every built-in cue name needs a sound"
    for name in BUILTIN_CUES:
        pcm = render(name)
        write(OUT / f"{name}.wav", pcm)
        m = measure(pcm)
        print(
            f"{name:10} {m['seconds']:5.2f} s  peak {m['peak_dbfs']:5.1f} dBFS  "
            f"centroid {m['centroid_hz']:5.0f} Hz  above 4 kHz {m['above_4khz']:.2%}  "
            f"first ms {m['first_ms_dbfs']:5.1f} dBFS  last sample {m['last_sample']}"
        )


if __name__ == "__main__":
    main()
