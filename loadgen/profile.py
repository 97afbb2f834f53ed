"""Rate profiles: how the asked request rate changes over a run (constant, ramp, step, spike).

A profile is a piecewise-linear rate function r(t). The workload's request stream is generated at
the base rate R (so its objects, users and sharding are exactly the simulator's) and its times are
warped: a request at stream time s is sent at the time T where the profile's cumulative count
C(T) = integral of r over [0, T] equals R * s. The constant profile is the identity warp.

Spec syntax (``--profile``), rates in requests/s, durations as in cdn.units:
- ``constant``: the base rate throughout;
- ``ramp:A-B`` or ``ramp:A-B/30s``: linear from A to B over the run (or over 30 s, then B);
- ``step:A,B,C`` or ``step:A,B,C/10s``: equal steps over the run (or 10 s each, then the last);
- ``spike:P@10s+2s``: the base rate, and P from 10 s for 2 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cdn.units import parse_duration

PROFILE_EXPECTED = (
    "'constant', 'ramp:100-1000[/30s]', 'step:100,200,400[/10s]' or 'spike:1000@10s+2s'"
)


@dataclass(frozen=True, slots=True)
class Profile:
    """A piecewise-linear rate: ``times[i]`` -> ``rates[i]``, holding the last rate afterwards."""

    spec: str
    times: tuple[float, ...]
    rates: tuple[float, ...]

    @property
    def is_constant(self) -> bool:
        """True when the rate never changes (the warp is the identity up to a scale)."""
        return len(set(self.rates)) == 1

    def rate_at(self, t: float) -> float:
        """The asked rate (requests/s) at time ``t``."""
        return float(np.interp(t, self.times, self.rates))

    def _breakpoints(self, horizon: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        times = list(self.times)
        rates = list(self.rates)
        if horizon > times[-1]:
            times.append(horizon)
            rates.append(rates[-1])
        t = np.array(times, dtype=np.float64)
        r = np.array(rates, dtype=np.float64)
        widths = np.diff(t)
        cumulative = np.concatenate([[0.0], np.cumsum(widths * (r[:-1] + r[1:]) / 2.0)])
        return t, r, cumulative

    def count_until(self, t: float) -> float:
        """Expected requests in [0, t): the cumulative C(t)."""
        times, rates, cumulative = self._breakpoints(max(t, self.times[-1]) + 1.0)
        i = int(np.searchsorted(times, t, side="right") - 1)
        i = min(max(i, 0), len(times) - 2)
        x = t - times[i]
        slope = (rates[i + 1] - rates[i]) / (times[i + 1] - times[i])
        return float(cumulative[i] + rates[i] * x + slope * x * x / 2.0)

    def time_of(self, counts: np.ndarray, horizon: float) -> np.ndarray:
        """The times T with C(T) = ``counts`` (inverse of ``count_until``), vectorised."""
        counts = np.asarray(counts, dtype=np.float64)
        times, rates, cumulative = self._breakpoints(horizon)
        last = len(times) - 2
        i = np.clip(np.searchsorted(cumulative, counts, side="right") - 1, 0, last)
        # Skip zero-rate segments: a count at a segment start belongs to the next one that grows.
        width = times[i + 1] - times[i]
        slope = (rates[i + 1] - rates[i]) / np.where(width > 0, width, 1.0)
        left = counts - cumulative[i]
        r0 = rates[i]
        flat = np.abs(slope) < 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            x_flat = left / np.where(r0 > 0, r0, np.inf)
            disc = np.maximum(r0 * r0 + 2.0 * slope * left, 0.0)
            x_lin = (np.sqrt(disc) - r0) / np.where(flat, 1.0, slope)
        x = np.where(flat, x_flat, x_lin)
        result = times[i] + x
        beyond = counts > cumulative[-1]
        if beyond.any():
            tail = max(float(rates[-1]), 1e-12)
            result = np.where(beyond, times[-1] + (counts - cumulative[-1]) / tail, result)
        return result


def constant_profile(rate: float) -> Profile:
    """The constant profile at ``rate``."""
    return Profile("constant", (0.0,), (float(rate),))


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"rate {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"rate {text!r} is out of range (expected requests/s >= 0)")
    return value


def _split_span(body: str, duration: float | None, what: str) -> tuple[str, float]:
    head, slash, span = body.partition("/")
    if slash:
        return head, parse_duration(span)
    if duration is None or not math.isfinite(duration):
        raise ValueError(f"{what} without '/SPAN' needs --duration (or write e.g. {what}/30s)")
    return head, duration


def parse_profile(spec: str, rate: float, duration: float | None) -> Profile:
    """The Profile for ``spec`` with base ``rate``; ValueError saying what is expected."""
    text = spec.strip()
    kind, _, body = text.partition(":")
    kind = kind.lower()
    try:
        if kind == "constant" and not body:
            return Profile(text, (0.0,), (float(rate),))
        if kind == "ramp":
            head, span = _split_span(body, duration, "ramp:A-B")
            low, dash, high = head.partition("-")
            if not dash:
                raise ValueError(f"ramp {head!r} has no '-'")
            if span <= 0:
                raise ValueError("ramp span is 0")
            return Profile(text, (0.0, span), (_rate(low), _rate(high)))
        if kind == "step":
            head, span = _split_span(body, duration, "step:A,B")
            levels = [_rate(part) for part in head.split(",") if part.strip()]
            if not levels:
                raise ValueError("step has no rates")
            each = span / len(levels) if "/" not in body else span
            if each <= 0:
                raise ValueError("step span is 0")
            times: list[float] = []
            rates: list[float] = []
            for k, level in enumerate(levels):
                # Two points per step make a flat segment; the jump is a 1 µs ramp.
                start = k * each
                times += [start + (1e-6 if k else 0.0), (k + 1) * each]
                rates += [level, level]
            return Profile(text, tuple(times), tuple(rates))
        if kind == "spike":
            peak_text, at_sign, rest = body.partition("@")
            at_text, plus, length_text = rest.partition("+")
            if not at_sign or not plus:
                raise ValueError(f"spike {body!r} is not P@START+LENGTH")
            peak = _rate(peak_text)
            at = parse_duration(at_text)
            length = parse_duration(length_text)
            base = float(rate)
            times = [0.0, at, at + 1e-6, at + length, at + length + 1e-6]
            rates = [base, base, peak, peak, base]
            if at == 0:
                times, rates = [0.0, length, length + 1e-6], [peak, peak, base]
            return Profile(text, tuple(times), tuple(rates))
    except ValueError as exc:
        raise ValueError(f"--profile {spec!r}: {exc} (expected {PROFILE_EXPECTED})") from None
    raise ValueError(f"--profile {spec!r} is not known (expected {PROFILE_EXPECTED})")
