"""The flags of one series, from what :class:`~.health_state.SeriesState` knows of it.

Each function applies one rule of :mod:`.health_rules` (the thresholds and their reasons
are there) to the block summaries, finds the point where each episode starts and says
what happened in a sentence that names the tag, the step and the values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lumiboard.store.health_rules import (
    DIVERGENCE_BLOCKS,
    DIVERGENCE_PROGRESS,
    DIVERGENCE_RELATIVE,
    DIVERGENCE_SPREAD,
    EXPLODE_ERROR,
    EXPLODE_WARNING,
    MAX_EPISODES,
    MIN_POINTS,
    SPIKE_OUTSTANDING,
    VANISH_ABSOLUTE,
    VANISH_RELATIVE,
    Finding,
    episodes,
    number,
)

if TYPE_CHECKING:
    from lumiboard.store.health_state import SeriesState


def findings(state: SeriesState, tag: str, step: np.ndarray, value: np.ndarray) -> list[Finding]:
    """The flags of the series ``state`` has read (``step``/``value``: its columns)."""
    found = []
    if state.nonfinite_at >= 0:
        found.append(nonfinite(state, tag, step, value))
    if not state.block:
        return found
    if state.rules.spikes and state.spikes:
        found += spikes(state, tag, step, value)
    if state.rules.divergence and state.finite >= MIN_POINTS:
        found += divergence(state, tag, step, value)
    if state.rules.gradients and state.reference is not None:
        found += gradients(state, tag, step, value)
    return found


def nonfinite(state: SeriesState, tag: str, step: np.ndarray, value: np.ndarray) -> Finding:
    """The first NaN or +-Inf."""
    at = state.nonfinite_at
    found = float(value[at])
    word = "NaN" if np.isnan(found) else "Infinity" if found > 0 else "-Infinity"
    if state.nonfinite == state.count - at:  # every point from there on
        message = f"{tag} is {word} from step {step[at]} on (first non-finite value)"
    else:
        message = (
            f"{tag} is {word} at step {step[at]} (first non-finite value; "
            f"{state.nonfinite} of {state.count} points are non-finite)"
        )
    return Finding("nonfinite", "error", at, found, message)


def spikes(state: SeriesState, tag: str, step: np.ndarray, value: np.ndarray) -> list[Finding]:
    """The tallest spikes, in step order."""
    medians = state.block_stats()[:, 0]
    curve = float(medians.max() - medians.min())  # in the blocks' space, as heights
    levels = state.linear_stats()[:, 0]
    candidates = state.spikes
    total = len(candidates) + state.dropped_spikes
    if total > MAX_EPISODES:  # spiky by nature: only the outstanding ones
        typical = float(np.median([spike.height for spike in candidates]))
        candidates = [s for s in candidates if s.height > SPIKE_OUTSTANDING * typical]
    tallest = sorted(candidates, key=lambda spike: -spike.z)[:MAX_EPISODES]
    found: list[Finding] = []
    for spike in sorted(tallest, key=lambda spike: spike.start):
        peak, level = float(value[spike.peak]), float(levels[spike.block])
        message = (
            f"{tag} spiked to {number(peak)} at step {step[spike.peak]} from about "
            f"{number(level)} and came back by step {step[spike.back]}"
        )
        if total > MAX_EPISODES:
            message += f" (one of the {len(tallest)} tallest of {total} spikes)"
        level_name = "warning" if spike.height > curve else "info"
        found.append(Finding("spike", level_name, spike.start, float(value[spike.start]), message))
    return found


def divergence(state: SeriesState, tag: str, step: np.ndarray, value: np.ndarray) -> list[Finding]:
    """Episodes of block medians far above their running minimum."""
    stats = state.block_stats()
    medians, spreads = stats[:, 0], stats[:, 1]
    lowest = np.minimum.accumulate(medians)
    index = np.arange(len(medians))
    at_lowest = np.maximum.accumulate(np.where(medians <= lowest, index, 0))
    gap = np.maximum(
        np.maximum(
            DIVERGENCE_PROGRESS * np.maximum(medians[0] - lowest, 0.0),
            DIVERGENCE_SPREAD * spreads[at_lowest],
        ),
        # In log space a relative rise is a difference.
        np.log1p(DIVERGENCE_RELATIVE) if state.log else DIVERGENCE_RELATIVE * np.abs(lowest),
    )
    starts = state.block_starts()
    linear = state.linear_stats()[:, 0]
    found = []
    for first, end in episodes(medians - lowest > gap, DIVERGENCE_BLOCKS, 1)[:MAX_EPISODES]:
        limit = lowest[first] + gap[first]
        at = _first_point(
            state, value, int(starts[first]), lambda x, limit=limit: state.in_space(x) > limit
        )
        worst = first + int(np.argmax(medians[first:end]))
        message = (
            f"{tag} diverged from step {step[at]}: {number(float(value[at]))}, far above its "
            f"running minimum {number(float(linear[at_lowest[first]]))} (step "
            f"{step[starts[at_lowest[first]]]}); its median rose to "
            f"{number(float(linear[worst]))}"
        )
        found.append(Finding("divergence", "warning", at, float(value[at]), message))
    return found


def gradients(state: SeriesState, tag: str, step: np.ndarray, value: np.ndarray) -> list[Finding]:
    """Exploding and vanishing gradient norms, against the norm's early median."""
    reference = state.reference
    assert reference is not None  # only called once the series has one
    stats = state.linear_stats()
    medians, lows, highs = stats[:, 0], stats[:, 2], stats[:, 3]
    starts = state.block_starts()
    found = []
    if reference > 0:
        errors = highs > EXPLODE_ERROR * reference
        warnings = medians > EXPLODE_WARNING * reference
        for first, end in episodes(errors | warnings, 1, 1):
            if errors[first:end].any():
                level, factor = "error", EXPLODE_ERROR
                block = first + int(np.argmax(errors[first:end]))
            elif np.count_nonzero(warnings[first:end]) >= 2:
                level, factor, block = "warning", EXPLODE_WARNING, first
            else:
                continue
            limit = factor * reference
            at = _first_point(state, value, int(starts[block]), lambda x, limit=limit: x > limit)
            found.append(
                Finding(
                    "exploding_gradients",
                    level,
                    at,
                    float(value[at]),
                    f"{tag} exploded to {number(float(value[at]))} at step {step[at]}, "
                    f"{float(value[at]) / reference:.3g}x its early median {number(reference)}"
                    f" (highest: {number(float(highs[first:end].max()))})",
                )
            )
            if len(found) == MAX_EPISODES:
                break
    limit = max(VANISH_ABSOLUTE, VANISH_RELATIVE * reference)
    vanished = highs < limit
    for first, end in episodes(vanished, 1, 0)[:MAX_EPISODES]:
        at = _first_point(state, value, int(starts[first]), lambda x: x < limit)
        found.append(
            Finding(
                "vanishing_gradients",
                "warning",
                at,
                float(value[at]),
                f"{tag} vanished from step {step[at]}: below {number(limit)} (early median "
                f"{number(reference)}) until step {step[_block_end(state, starts, end)]}"
                f", lowest {number(float(lows[first:end].min()))}",
            )
        )
    return found


def _first_point(state: SeriesState, value: np.ndarray, start: int, test: object) -> int:
    """The position of the first finite point of the block starting at ``start`` that
    passes ``test`` (an elementwise predicate on an array); the block's start if none."""
    window = value[start : start + 8 * state.block]
    positions = np.flatnonzero(np.isfinite(window))[: state.block]
    passing = np.flatnonzero(test(window[positions]))  # type: ignore[operator]
    return start + int(positions[passing[0]]) if len(passing) else start


def _block_end(state: SeriesState, starts: np.ndarray, end: int) -> int:
    """The position of the last point of block ``end - 1``."""
    if end < len(starts):
        return int(starts[end]) - 1
    return state.count - 1
