"""The health rules: what makes one scalar series non-finite, diverging, spiky, or its
gradient norms exploding or vanishing.

Every rule reads every stored point. The series is cut into blocks of :data:`BLOCK`
finite points (fewer for short series, see :func:`block_size`), and each block is
summed up once by its median, its spread, its lowest and its highest value. The spread
is the interquartile range / 1.349 (the standard deviation of normal noise), but at
least the smallest step between two of the block's values (a quantized metric, such as
an accuracy on 10 samples, has no interquartile range where most values are equal).
A series whose values are all positive (most losses, norms, rates) is summed up in log
space: its noise is relative, so its spikes and rises are factors. Rules then work on
the summaries, so a series that grows is only summed up where it grew
(:class:`.health_state.SeriesState` keeps the complete blocks) and the rules cost a
few numpy operations over n / 20 numbers. This module holds the rules' thresholds;
:mod:`.health_state` the summing up, :mod:`.health_messages` the flags.

Rules (``k`` is a block; medians and spreads in log space for a positive series):

- ``nonfinite`` (every tag; error): the first NaN or +-Inf; one flag per series.
- ``spike`` (every tag but ``system/*``, ``gradient_norm/*`` and ``update_ratio/*``,
  noisy by nature; 20 or more finite points): 1 to 3 consecutive points that all lie
  beyond both of their neighbours, on the same side, by more than :data:`SPIKE_Z` x
  the median spread of their block and the :data:`SPREAD_REACH` blocks each side. A
  step change is no spike (one neighbour is on the spike's side); a point on a steep
  but smooth slope is none either (its neighbours straddle it). A series with more
  than :data:`MAX_EPISODES` spikes is spiky by nature (heavy-tailed noise): only
  spikes over :data:`SPIKE_OUTSTANDING` x the median spike's height count there.
  Warning when the spike is taller than the range of the series' block medians, info
  otherwise; the :data:`MAX_EPISODES` tallest (in spreads) are reported.
- ``divergence`` (loss-like tags: the name contains ``loss``, but not ``loss_scale``,
  ``loss scale`` ...: mixed precision's scale is no loss; 20 or more finite points;
  warning): block ``k``'s median rises above the running minimum ``min_k`` of the
  block medians so far by more than the largest of :data:`DIVERGENCE_PROGRESS` x the
  progress made (``median_0 - min_k``), :data:`DIVERGENCE_SPREAD` x the spread of the
  block that holds the minimum, and :data:`DIVERGENCE_RELATIVE` x ``|min_k|`` (in log
  space: a rise of 10 %), for :data:`DIVERGENCE_BLOCKS` blocks in a row. So a loss
  that gave back half of what it learnt (for a positive loss: half of the factor it
  came down by), or blew up, is flagged; a noisy loss, a validation loss that creeps
  up a little, or a warm-up bump is not. Medians, not points: one bad batch is a spike.
- ``exploding_gradients`` (tags ``gradient_norm/*``, 10 or more finite points): a point
  over :data:`EXPLODE_ERROR` x the reference (the median of the first
  :data:`REFERENCE_POINTS` finite points) is an error; block medians over
  :data:`EXPLODE_WARNING` x the reference for two blocks in a row, a warning.
  Non-finite norms are ``nonfinite`` flags.
- ``vanishing_gradients`` (same tags; warning): a whole block below
  ``max(VANISH_ABSOLUTE, VANISH_RELATIVE x reference)``.

One flag per episode (consecutive blocks, a one-block gap joined), at its first point;
at most :data:`MAX_EPISODES` episodes of a kind per series.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np

#: Finite points per block once a series has 10 x this many.
BLOCK = 20
#: The smallest block: shorter series get ``finite // 10`` points per block, at least this.
MIN_BLOCK = 5
#: Finite points a series needs before spikes and divergence are looked for.
MIN_POINTS = 20
#: Finite points a gradient norm needs before its rules apply, and its reference's size.
REFERENCE_POINTS = 10
#: The spread of a block: its interquartile range / this (sigma for normal noise).
IQR_SIGMA = 1.349
#: A spike stands out from both neighbours by more than this many spreads.
SPIKE_Z = 8.0
#: In a series with many spikes, those this many times taller than the median spike.
SPIKE_OUTSTANDING = 2.0
#: A spike's scale: the median spread of its block and this many blocks each side.
SPREAD_REACH = 2
#: The widest spike, in points; wider is a level change, not a spike.
SPIKE_WIDTH = 3
#: Floor of a block's spread, relative to its median (a flat block has no spread).
SPREAD_FLOOR = 1e-6
DIVERGENCE_PROGRESS = 0.5
DIVERGENCE_SPREAD = 3.0
DIVERGENCE_RELATIVE = 0.1
DIVERGENCE_BLOCKS = 2
EXPLODE_ERROR = 1e3
EXPLODE_WARNING = 1e2
VANISH_RELATIVE = 1e-4
VANISH_ABSOLUTE = 1e-8
#: Flags of one kind per series, at most (spikes: the tallest).
MAX_EPISODES = 10
#: Spikes remembered per series (the tallest); the rest are only counted.
KEPT_SPIKES = 100

LOSS_TAG = re.compile(r"loss(?![ _\-/]?scal)", re.IGNORECASE)
GRADIENT_PREFIX = "gradient_norm/"
NO_SPIKE_PREFIXES = ("system/", "gradient_norm/", "update_ratio/")


@dataclass(frozen=True, slots=True)
class Rules:
    """Which rules beyond ``nonfinite`` apply to a tag."""

    spikes: bool
    divergence: bool
    gradients: bool


@functools.lru_cache(maxsize=4096)  # runs share their tags: one Rules per name
def rules_for(tag: str) -> Rules:
    """The rules of ``tag`` (see the module docstring)."""
    return Rules(
        spikes=not tag.startswith(NO_SPIKE_PREFIXES),
        divergence=not tag.startswith("system/") and LOSS_TAG.search(tag) is not None,
        gradients=tag.startswith(GRADIENT_PREFIX),
    )


def block_size(finite: int) -> int:
    """Points per block for a series of ``finite`` finite points (0: too short)."""
    if finite < REFERENCE_POINTS:
        return 0
    return BLOCK if finite >= 10 * BLOCK else max(MIN_BLOCK, finite // 10)


@dataclass(frozen=True, slots=True)
class Finding:
    """One flag of a series: ``index`` is its point's position in the series' columns."""

    kind: str
    level: str
    index: int
    value: float
    message: str


@dataclass(frozen=True, slots=True)
class Spike:
    start: int  # position of the first point in the series' columns
    back: int  # position of the point after it (the series came back)
    peak: int  # position of its most extreme point
    block: int
    height: float  # beyond both neighbours
    z: float  # height in spreads


def episodes(mask: np.ndarray, min_length: int, max_gap: int) -> list[tuple[int, int]]:
    """(first, end) of the runs of True in ``mask``, runs at most ``max_gap`` apart joined,
    those shorter than ``min_length`` dropped."""
    if not mask.any():
        return []
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if max_gap > 0 and len(starts) > 1:
        keep = (starts[1:] - ends[:-1]) > max_gap
        starts = starts[np.concatenate(([True], keep))]
        ends = ends[np.concatenate((keep, [True]))]
    long = (ends - starts) >= min_length
    return list(zip(starts[long].tolist(), ends[long].tolist(), strict=True))


def number(value: float) -> str:
    """A value for a message: 4 significant digits."""
    return f"{value:.4g}" if math.isfinite(value) else str(value)
