"""Loudness: measure clips as ITU-R BS.1770 does and bring each to one target, peaks limited.

The renderer normalizes every clip once (speech and cues), so an exported guide measures its
target integrated loudness as a whole without a slow pass over the whole file. Raw espeak speech
peaks at 0 dBFS, so plain gain would clip: a look-ahead limiter keeps the true peak (4x
oversampled, as BS.1770 measures it) under a ceiling. Everything is vectorized numpy/scipy.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, lfilter, upfirdn

from coach.timeline import SAMPLE_RATE

BLOCK_SECONDS = 0.4  # BS.1770 gating block
STEP_SECONDS = 0.1  # blocks overlap by 75 %
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolute-gated loudness
OVERSAMPLE = 4  # true peak, as BS.1770 annex 2 and ffmpeg's ebur128 measure it
# The interpolation filter: 12 taps a phase like the annex's (plus one, so its delay is a whole
# number of samples); scipy's resample_poly would use 20 a phase and take twice as long.
_INTERPOLATOR = OVERSAMPLE * firwin(4 * 12 + 1, 1 / OVERSAMPLE, window=("kaiser", 5.0))
# Limiter ramps: long enough not to distort the voice, short enough to touch only the peaks.
LIMITER_SECONDS = 0.008
# Aim a little under the ceiling: the gain changes smoothly, so the oversampled peak of the
# limited clip can land a hair above what the envelope predicted.
LIMITER_MARGIN_DB = 0.05


def _k_weighting(rate: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """BS.1770's K-weighting (high shelf, then high pass) for any sample rate.

    The standard tabulates coefficients only for 48 kHz; these are the same analog filters
    brought to `rate` (the derivation libebur128 uses), so 22.05 kHz needs no resampling.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf_b = np.array([(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0,
                        (vh - vb * k / q + k * k) / a0])  # fmt: skip
    shelf_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    high_b = np.array([1.0, -2.0, 1.0])
    high_a = np.array([1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0])
    return (shelf_b, shelf_a), (high_b, high_a)


def _lufs(mean_square: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(mean_square)


def integrated_loudness(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness of a mono clip in LUFS (float samples in [-1, 1]); -inf if silent.

    Gated as BS.1770-4 says: 400 ms blocks every 100 ms, an absolute gate at -70 LUFS and a
    relative gate 10 LU below. A clip shorter than one block (a tick) counts as a single block
    over its whole length: its loudness while it sounds, which is what a listener hears.
    """
    meter = LoudnessMeter(rate)
    meter.add(x)
    return meter.integrated()


class LoudnessMeter:
    """Integrated loudness of a stream fed in blocks: a whole guide measured in constant memory.

    Keeps the K-weighting filters' state across blocks and one energy sum per 100 ms step, so
    measuring an hour holds 36,000 floats instead of the audio.
    """

    def __init__(self, rate: int = SAMPLE_RATE):
        self._filters = _k_weighting(rate)
        self._states = [np.zeros(2), np.zeros(2)]  # biquads: two delay elements each
        self._step = round(STEP_SECONDS * rate)
        self._steps: list[np.ndarray] = []  # energy sums of complete 100 ms steps
        self._tail = np.zeros(0)  # squared samples not yet making a whole step

    def add(self, x: np.ndarray) -> None:
        y = np.asarray(x, dtype=np.float64)
        for i, (b, a) in enumerate(self._filters):
            y, self._states[i] = lfilter(b, a, y, zi=self._states[i])
        squares = np.concatenate((self._tail, y * y))
        whole = len(squares) // self._step * self._step
        self._steps.append(squares[:whole].reshape(-1, self._step).sum(axis=1))
        self._tail = squares[whole:]

    def integrated(self) -> float:
        """LUFS of everything added so far; -inf if silent."""
        steps = np.concatenate(self._steps) if self._steps else np.zeros(0)
        per_block = round(BLOCK_SECONDS / STEP_SECONDS)
        if len(steps) < per_block:
            count = len(steps) * self._step + len(self._tail)
            energies = np.array([(steps.sum() + self._tail.sum()) / max(count, 1)])
        else:
            sums = np.convolve(steps, np.ones(per_block), mode="valid")
            energies = sums / (per_block * self._step)
        energies = energies[_lufs(energies) > ABSOLUTE_GATE]
        if len(energies) == 0:
            return -math.inf
        relative = _lufs(energies.mean()) + RELATIVE_GATE
        return float(_lufs(energies[_lufs(energies) > relative].mean()))


def true_peak_db(x: np.ndarray, rate: int = SAMPLE_RATE) -> float:
    """The true (4x oversampled) peak in dBTP; -inf for silence. `rate` is kept for symmetry:
    oversampling by a fixed factor does not depend on it."""
    peak = float(np.abs(_oversample(x)).max(initial=0.0))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def normalize(
    x: np.ndarray,
    target_lufs: float,
    ceiling_dbtp: float = -1.5,
    rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """`x` brought to `target_lufs` with its true peak at or under `ceiling_dbtp`.

    Returns float32 in [-1, 1] of the same length (the timeline has placed the clip by its
    length). Gain first, then a look-ahead limiter on the peaks; limiting lowers the loudness a
    little, so the gain is corrected and the limiter rerun (two or three rounds at most).
    A silent clip comes back unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    loudness = integrated_loudness(x, rate)
    if not math.isfinite(loudness):
        return x.astype(np.float32)
    ceiling = 10 ** (ceiling_dbtp / 20)
    envelope = _peak_envelope(x)
    width = 2 * round(LIMITER_SECONDS * rate) + 1
    gain = 10 ** ((target_lufs - loudness) / 20)
    for _ in range(3):
        y = x * (gain * _limiter_gain(gain * envelope, ceiling, width))
        error = target_lufs - integrated_loudness(y, rate)
        if abs(error) < 0.05:
            break
        gain *= 10 ** (error / 20)
    peak = np.abs(_oversample(y)).max()
    if peak > ceiling:
        y *= ceiling / peak
    return y.astype(np.float32)


def _oversample(x: np.ndarray) -> np.ndarray:
    """`x` at 4x its rate, aligned so sample i lands at i * OVERSAMPLE (4 * len(x) long)."""
    delay = (len(_INTERPOLATOR) - 1) // 2
    up = upfirdn(_INTERPOLATOR, np.asarray(x, dtype=np.float64), OVERSAMPLE)
    return up[delay : delay + OVERSAMPLE * len(x)]


def _peak_envelope(x: np.ndarray) -> np.ndarray:
    """Per sample, the largest oversampled magnitude between it and its neighbours."""
    if len(x) == 0:
        return x
    up = np.abs(_oversample(x))
    # Strided maxima: numpy reduces a (n, 4) reshape along its short axis ten times slower.
    between = np.maximum(np.maximum(up[0::4], up[1::4]), np.maximum(up[2::4], up[3::4]))
    return np.maximum(between, np.concatenate(([between[0]], between[:-1])))


def _limiter_gain(envelope: np.ndarray, ceiling: float, width: int) -> np.ndarray:
    """A smooth gain <= 1 that keeps envelope * gain under the ceiling everywhere.

    The gain each sample needs is held as a running minimum over `width` samples, then
    averaged over the same width: every value averaged at a peak is at most what that peak
    needs, so the smoothed gain still holds it down, and it starts falling `width` samples
    ahead of the peak (the look-ahead) instead of snapping down at it.
    """
    aim = ceiling * 10 ** (-LIMITER_MARGIN_DB / 20)
    with np.errstate(divide="ignore"):
        needed = np.minimum(1.0, aim / envelope)
    held = minimum_filter1d(needed, width, mode="nearest")
    return uniform_filter1d(held, width, mode="nearest")
