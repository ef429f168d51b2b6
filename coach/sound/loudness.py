"""Loudness: measure clips as ITU-R BS.1770 does and bring each to one target, peaks limited.

The renderer normalizes every clip once (speech and cues), so an exported guide measures its
target integrated loudness as a whole without a slow pass over the whole file. Raw espeak speech
peaks at 0 dBFS, so plain gain would clip: a look-ahead limiter keeps the true peak (4x
oversampled, as BS.1770 measures it) under a ceiling. Everything is vectorized numpy alone, so
importing this costs ~0.1 s, not the ~0.8 s and ~100 MB a signal-processing library took.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from coach.timeline import SAMPLE_RATE

BLOCK_SECONDS = 0.4  # BS.1770 gating block
STEP_SECONDS = 0.1  # blocks overlap by 75 %
ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolute-gated loudness
OVERSAMPLE = 4  # true peak, as BS.1770 annex 2 and ffmpeg's ebur128 measure it
# The K-weighting filters' impulse response is cut where it has decayed this far below its
# peak (about 1,250 samples at 22.05 kHz): as an FIR it filters by FFT, vectorized.
IMPULSE_FLOOR_DB = -140.0
# The meter filters what it is fed in chunks about this long: fewer, larger FFTs.
METER_CHUNK = 1 << 16
# Limiter ramps: long enough not to distort the voice, short enough to touch only the peaks.
LIMITER_SECONDS = 0.008
# Aim a little under the ceiling: the gain changes smoothly, so the oversampled peak of the
# limited clip can land a hair above what the envelope predicted.
LIMITER_MARGIN_DB = 0.05


def _lowpass(taps: int, cutoff: float, beta: float) -> np.ndarray:
    """Kaiser-windowed sinc low pass, `cutoff` a fraction of Nyquist, unity gain at DC."""
    m = np.arange(taps) - (taps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(taps, beta)
    return h / h.sum()


# The interpolation filter: 12 taps a phase like the annex's (plus one, so its delay is a whole
# number of samples). Column p of _PHASES holds every 4th tap from p, reversed and padded to
# one length, for _oversample's matrix product.
_INTERPOLATOR = OVERSAMPLE * _lowpass(4 * 12 + 1, 1 / OVERSAMPLE, 5.0)
_PHASES = np.zeros((-(-len(_INTERPOLATOR) // OVERSAMPLE), OVERSAMPLE))
for _p in range(OVERSAMPLE):
    _PHASES[: len(_INTERPOLATOR[_p::OVERSAMPLE]), _p] = _INTERPOLATOR[_p::OVERSAMPLE]
_PHASES = _PHASES[::-1].copy()
OVERSAMPLE_ROWS = 4096


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


@functools.cache
def _k_impulse(rate: int) -> np.ndarray:
    """Impulse response of both K-weighting biquads in cascade, cut below IMPULSE_FLOOR_DB.

    Read off their exact frequency response on a fine grid: 2**15 points, far longer than the
    response lasts, so the inverse FFT's wrap-around adds nothing measurable.
    """
    size = 1 << 15
    z = np.exp(-1j * np.pi * np.arange(size // 2 + 1) / (size // 2))  # z**-1 on the grid
    response = np.ones_like(z)
    for b, a in _k_weighting(rate):
        response *= np.polyval(b[::-1], z) / np.polyval(a[::-1], z)
    h = np.fft.irfft(response, size)
    floor = np.abs(h).max() * 10 ** (IMPULSE_FLOOR_DB / 20)
    return h[: np.flatnonzero(np.abs(h) > floor)[-1] + 1]


@functools.lru_cache(maxsize=8)
def _k_spectrum(rate: int, size: int) -> np.ndarray:
    return np.fft.rfft(_k_impulse(rate), size)


def _fast_size(n: int) -> int:
    """The smallest 2**i * 3**j * 5**k >= n: FFTs of such sizes are the fast ones."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            best = min(best, p35 << (-(-n // p35) - 1).bit_length())
            p35 *= 3
        p5 *= 5
    return best


def _k_filter(x: np.ndarray, rate: int) -> np.ndarray:
    """`x` K-weighted, followed by the filters' ringing after it (len(x) + taps - 1 long).

    A long `x` is cut into segments that, with their ringing, fill one small FFT each (cache
    sized: per sample, twice as fast as one FFT over the whole), all transformed in one call
    and overlap-added.
    """
    ring = len(_k_impulse(rate)) - 1
    n = len(x) + ring
    size = 1 << max(14, (4 * ring).bit_length())  # the ringing fills at most a quarter
    if n <= size:
        size = _fast_size(n)
        return np.fft.irfft(np.fft.rfft(x, size) * _k_spectrum(rate, size), size)[:n]
    hop = size - ring
    count = -(-len(x) // hop)
    segments = np.zeros((count, hop))
    segments.ravel()[: len(x)] = x
    y = np.fft.irfft(np.fft.rfft(segments, size) * _k_spectrum(rate, size), size)
    out = np.empty(count * hop + ring)
    body = out[: count * hop].reshape(count, hop)
    body[:] = y[:, :hop]
    body[1:, :ring] += y[:-1, hop:]
    out[count * hop :] = y[-1, hop:]
    return out[:n]


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

    Carries the K-weighting filters' ringing across blocks and keeps one energy sum per 100 ms
    step, so measuring an hour holds 36,000 floats instead of the audio.
    """

    def __init__(self, rate: int = SAMPLE_RATE):
        self._rate = rate
        self._ringing = np.zeros(len(_k_impulse(rate)) - 1)  # what the filters owe what follows
        self._pending: list[np.ndarray] = []  # samples fed but not yet filtered
        self._pending_length = 0
        self._step = round(STEP_SECONDS * rate)
        self._steps: list[np.ndarray] = []  # energy sums of complete 100 ms steps
        self._tail = np.zeros(0)  # squared samples not yet making a whole step

    def add(self, x: np.ndarray) -> None:
        self._pending.append(np.asarray(x, dtype=np.float64))
        self._pending_length += len(x)
        if self._pending_length >= METER_CHUNK:
            self._filter_pending()

    def _filter_pending(self) -> None:
        """Filter what is pending by overlap-add: exactly what one pass over the stream gives."""
        if not self._pending_length:
            return
        x = np.concatenate(self._pending)
        self._pending, self._pending_length = [], 0
        y = _k_filter(x, self._rate)
        y[: len(self._ringing)] += self._ringing
        y, self._ringing = y[: len(x)], y[len(x) :]
        squares = np.concatenate((self._tail, y * y))
        whole = len(squares) // self._step * self._step
        self._steps.append(squares[:whole].reshape(-1, self._step).sum(axis=1))
        self._tail = squares[whole:]

    def integrated(self) -> float:
        """LUFS of everything added so far; -inf if silent."""
        self._filter_pending()
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


class PeakMeter:
    """The true peak of a stream fed in blocks: what `true_peak_db` gives for it whole.

    Each block is oversampled with the samples the interpolator reaches on either side, so
    block edges neither hide a peak nor make one up; it holds 12 samples between blocks.
    """

    def __init__(self) -> None:
        self._reach = (len(_INTERPOLATOR) - 1) // 2 // OVERSAMPLE
        self._held = np.zeros(0)  # the last samples, whose neighbours after are still to come
        self._peak = 0.0
        self._started = False  # whether the held samples' first `reach` are counted already

    def add(self, x: np.ndarray) -> None:
        start = self._reach if self._started else 0
        y = np.concatenate((self._held, np.asarray(x, dtype=np.float64)))
        if len(y) <= 2 * self._reach:
            self._held = y
            return
        end = len(y) - self._reach
        self._peak = max(self._peak, float(np.abs(_oversample(y)[4 * start : 4 * end]).max()))
        self._held, self._started = y[end - self._reach :], True

    def peak_db(self) -> float:
        """dBTP of everything added; -inf for silence."""
        start = self._reach if self._started else 0
        tail = np.abs(_oversample(self._held)[4 * start :]).max(initial=0.0)
        peak = max(self._peak, float(tail))
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
    """`x` at 4x its rate, aligned so sample i lands at i * OVERSAMPLE (4 * len(x) long).

    Polyphase, as a matrix product: row k of the windows of `x` times column p (every 4th tap
    from p) is output sample k * 4 + p, so the product's rows are the output in order. Done in
    slices of OVERSAMPLE_ROWS: a product that small stays on one BLAS thread, where a whole
    clip's would spread over threads that, on a busy machine, made it up to ten times slower.
    """
    x = np.asarray(x, dtype=np.float64)
    delay = (len(_INTERPOLATOR) - 1) // 2 // OVERSAMPLE  # in input samples
    windows = sliding_window_view(np.pad(x, delay), len(_PHASES))
    up = np.empty((len(x), OVERSAMPLE))
    for at in range(0, len(x), OVERSAMPLE_ROWS):
        np.matmul(windows[at : at + OVERSAMPLE_ROWS], _PHASES, out=up[at : at + OVERSAMPLE_ROWS])
    return up.ravel()


def peaks_over(x: np.ndarray, ceiling: float) -> tuple[np.ndarray, np.ndarray]:
    """The samples of `x` whose oversampled values (it and the 3 after it) reach over
    `ceiling` (linear), and the largest magnitude of those values, each.

    The interpolator runs only where it could reach that far: no more than the largest sample
    it weighs times the sum of its taps' magnitudes (1.92, +5.7 dB). Speech kept under the
    ceiling leaves few such samples, so an hour is checked in a fraction of what oversampling
    all of it takes.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64), x
    delay = (len(_INTERPOLATOR) - 1) // 2 // OVERSAMPLE  # samples weighed either side
    big = np.flatnonzero(np.abs(x) * np.abs(_PHASES).sum(axis=0).max() > ceiling)
    near = np.unique((big[:, None] + np.arange(-delay, delay + 1)).clip(0, len(x) - 1))
    windows = sliding_window_view(np.pad(x, delay), len(_PHASES))
    peaks = np.abs(windows[near] @ _PHASES).max(axis=1, initial=0.0)
    over = peaks > ceiling
    return near[over], peaks[over]


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
    held = _running_min(needed, width)
    return _running_mean(held, width)


def _running_min(x: np.ndarray, width: int) -> np.ndarray:
    """Minimum over the odd `width` samples centred on each, edges extended (van Herk/Gil-Werman).

    Cut into blocks of `width`: any window spans the end of one block and the start of the
    next, so its minimum is that of a suffix minimum and a prefix minimum, each one pass.
    """
    half = width // 2
    padded = np.pad(x, half, mode="edge")
    blocks = -(-len(padded) // width)
    grid = np.pad(padded, (0, blocks * width - len(padded)), constant_values=np.inf)
    grid = grid.reshape(blocks, width).T  # accumulate down columns: vectorized across blocks
    prefix = np.minimum.accumulate(grid, axis=0).T.ravel()
    suffix = np.minimum.accumulate(grid[::-1], axis=0)[::-1].T.ravel()
    return np.minimum(suffix[: len(x)], prefix[width - 1 : width - 1 + len(x)])


def _running_mean(x: np.ndarray, width: int) -> np.ndarray:
    """Mean over the odd `width` samples centred on each, edges extended."""
    sums = np.concatenate(([0.0], np.cumsum(np.pad(x, width // 2, mode="edge"))))
    return (sums[width:] - sums[:-width]) / width
