"""The health rules on synthetic curves: flags where training goes wrong, none where it does not.

Curves are made with numpy (seeded): losses decaying with multiplicative noise, blow-ups,
spikes, NaNs, gradient norms that explode or vanish. Every rule is also checked to give
the same flags when the series arrives in pieces (the index reads only what was appended).
"""

from __future__ import annotations

import numpy as np
import pytest

from lumiboard.store import health_state
from lumiboard.store.health_messages import findings
from lumiboard.store.health_rules import Finding, rules_for
from lumiboard.store.health_state import SeriesState


def _flags(tag: str, value: np.ndarray, pieces: list[int] | None = None) -> list[Finding]:
    """The findings for ``value`` (steps 0..n-1), read whole or at the lengths ``pieces``."""
    step = np.arange(len(value), dtype=np.int64)
    state = SeriesState(rules_for(tag))
    for end in [*(pieces or []), len(value)]:
        state.update(step[:end], value[:end])
    return findings(state, tag, step, value)


def _kinds(found: list[Finding]) -> list[tuple[str, str, int]]:
    return [(finding.kind, finding.level, finding.index) for finding in found]


def _described(found: list[Finding]) -> list[tuple[str, str, int, str, str]]:
    """Findings as comparable tuples (a NaN value is not equal to itself)."""
    return [(f.kind, f.level, f.index, repr(f.value), f.message) for f in found]


def _loss(n: int = 1000, noise: float = 0.1, seed: int = 0, floor: float = 0.1) -> np.ndarray:
    """A decaying loss with multiplicative noise (per-batch losses are noisy in ratio)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (2.3 * np.exp(-t / (n / 5)) + floor) * np.exp(rng.normal(0.0, noise, n))


@pytest.mark.parametrize(
    ("n", "noise", "seed"),
    [(1000, 0.1, 0), (1000, 0.4, 1), (5000, 0.25, 2), (300, 0.05, 3), (60, 0.1, 4), (25, 0.2, 5)],
)
def test_a_normal_noisy_decreasing_loss_raises_no_flag(n: int, noise: float, seed: int) -> None:
    assert _flags("train/loss", _loss(n, noise, seed)) == []


def test_a_loss_that_creeps_up_a_little_or_bumps_in_warm_up_is_no_divergence() -> None:
    overfit = _loss(2000, 0.05, 7)
    overfit[1200:] *= np.linspace(1.0, 1.3, 800)  # a validation loss overfitting
    assert _flags("val_loss", overfit) == []
    t = np.arange(1000)
    warm_up = (2.3 + 0.2 * np.sin(np.clip(t / 50, 0, np.pi))) * np.exp(-np.maximum(t - 50, 0) / 200)
    assert _flags("loss", warm_up * np.exp(np.random.default_rng(8).normal(0, 0.05, 1000))) == []


def test_a_blow_up_is_a_divergence_from_where_it_starts() -> None:
    loss = _loss(1000, 0.1, 0)
    loss[600:] *= np.exp((np.arange(400)) / 30)
    found = _flags("loss", loss)
    assert [(kind, level) for kind, level, _ in _kinds(found)] == [("divergence", "warning")]
    assert 600 <= found[0].index <= 660
    assert found[0].message.startswith(f"loss diverged from step {found[0].index}")


def test_a_loss_that_gives_back_what_it_learnt_is_a_divergence() -> None:
    loss = _loss(2000, 0.05, 3)
    loss[1000:] = np.linspace(loss[1000], 2.0, 1000) * np.exp(
        np.random.default_rng(4).normal(0, 0.05, 1000)
    )
    found = _flags("loss/train", loss)
    assert [finding.kind for finding in found] == ["divergence"]
    assert 1000 < found[0].index < 1700


def test_loss_like_tags() -> None:
    for tag in ("loss", "train/loss", "val_loss", "Loss/train", "epoch_loss"):
        assert rules_for(tag).divergence, tag
    for tag in ("loss_scale", "amp/loss scale", "accuracy", "system/loss", "lr"):
        assert not rules_for(tag).divergence, tag
    assert rules_for("gradient_norm/(total)").gradients
    assert not rules_for("gradient_norm/w").spikes
    assert not rules_for("system/cpu").spikes


@pytest.mark.parametrize(
    ("bad", "word"), [(np.nan, "NaN"), (np.inf, "Infinity"), (-np.inf, "-Infinity")]
)
def test_the_first_non_finite_value_is_one_error(bad: float, word: str) -> None:
    loss = _loss(500)
    loss[300:] = bad
    found = _flags("loss", loss)
    assert _kinds(found) == [("nonfinite", "error", 300)]
    assert found[0].message == f"loss is {word} from step 300 on (first non-finite value)"
    assert str(found[0].value) == str(bad)
    loss[301:] = 1.0  # came back: a NaN here and there
    loss[400] = bad
    assert _flags("loss", loss)[0].message == (
        f"loss is {word} at step 300 (first non-finite value; 2 of 500 points are non-finite)"
    )


def test_a_spike_that_comes_back_is_flagged_at_its_step() -> None:
    loss = _loss(1000, 0.05, 2)
    loss[500] *= 4  # info: within the curve's range
    loss[800:802] = 30.0  # warning: taller than the whole curve, two points wide
    found = _flags("loss", loss)
    assert _kinds(found) == [("spike", "info", 500), ("spike", "warning", 800)]
    assert found[1].message.startswith("loss spiked to 30 at step 800 from about 0.")
    assert found[1].message.endswith("came back by step 802")


def test_level_changes_steep_slopes_and_quantized_metrics_are_no_spikes() -> None:
    t = np.arange(1000)
    assert _flags("lr", np.where(t < 500, 0.1, 0.01)) == []
    assert _flags("lr", np.where((t // 100) % 2 == 0, 0.1, 0.01)) == []
    steep = np.exp(-t / 20.0) + 1e-3
    assert _flags("train/loss", steep) == []
    accuracy = np.round(np.random.default_rng(0).uniform(0.7, 0.9, 1000), 1)
    assert _flags("accuracy", accuracy) == []
    flat = np.full(1000, 0.5)
    flat[700] = 0.9  # a glitch in a flat series is a spike
    assert _kinds(_flags("metric", flat)) == [("spike", "warning", 700)]


def test_system_metrics_and_gradient_norms_are_not_looked_at_for_spikes() -> None:
    cpu = np.full(1000, 10.0)
    cpu[500] = 100.0
    assert _flags("system/cpu_percent", cpu) == []


def _norms(n: int = 1000, seed: int = 0) -> np.ndarray:
    return np.exp(np.random.default_rng(seed).normal(0.0, 0.3, n)) * np.linspace(2.0, 1.0, n)


def test_exploding_gradients() -> None:
    norms = _norms()
    norms[800] = 1e5  # over 1e3 x the early median: an error
    found = _flags("gradient_norm/(total)", norms)
    assert _kinds(found) == [("exploding_gradients", "error", 800)]
    assert "gradient_norm/(total) exploded to 1e+05 at step 800" in found[0].message
    norms = _norms()
    norms[600:] *= 300.0  # over 1e2 x for good: a warning
    assert _kinds(_flags("gradient_norm/w", norms)) == [("exploding_gradients", "warning", 600)]
    assert _flags("gradient_norm/w", _norms() * 50) == []  # big from the start is its scale


def test_vanishing_gradients() -> None:
    norms = _norms()
    norms[300:] *= 1e-9
    found = _flags("gradient_norm/layer1.weight", norms)
    assert _kinds(found) == [("vanishing_gradients", "warning", 300)]
    zeros = np.zeros(100)  # a parameter no gradient reaches
    assert _kinds(_flags("gradient_norm/unused", zeros)) == [("vanishing_gradients", "warning", 0)]
    assert _flags("gradient_norm/w", _norms() * np.linspace(1, 0.01, 1000)) == []


@pytest.mark.parametrize("seed", range(8))
def test_a_series_read_in_pieces_gets_the_flags_of_the_whole(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 3000))
    value = _loss(n, 0.1, seed)
    value[rng.integers(0, n, 2)] *= 20
    if seed % 2:
        value[rng.integers(0, n, 3)] = np.nan
    if seed % 3 == 0:
        value[n // 2 :] *= np.linspace(1, 50, n - n // 2)
    tag = ["loss", "gradient_norm/a", "accuracy"][seed % 3]
    pieces = sorted(rng.choice(np.arange(1, n), size=min(25, n - 1), replace=False).tolist())
    assert _described(_flags(tag, value, pieces)) == _described(_flags(tag, value))


def test_a_purged_or_rewritten_series_is_read_again() -> None:
    value = _loss(1000)
    value[900] = np.nan
    step = np.arange(1000)
    state = SeriesState(rules_for("loss"))
    state.update(step, value)
    assert [finding.kind for finding in findings(state, "loss", step, value)] == ["nonfinite"]
    purged = value[:800].copy()  # a restart purged steps >= 800, the NaN with them
    state.update(step[:800], purged)
    assert findings(state, "loss", step[:800], purged) == []
    shifted = value[:900] - 5.0  # rewritten, now crossing zero (no longer in log space)
    shifted[100] = 50.0
    state.update(step[:900], shifted)
    assert _described(findings(state, "loss", step[:900], shifted)) == _described(
        _flags("loss", shifted)
    )
    assert any(finding.kind == "spike" for finding in _flags("loss", shifted))


def test_many_series_read_together_get_the_flags_each_gets_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """update_all lays many series out in one array (and batches): nothing leaks across."""
    monkeypatch.setattr(health_state, "BATCH_POINTS", 5_000)  # several batches
    rng = np.random.default_rng(11)
    items = []
    for k in range(40):
        n = int(rng.integers(15, 1500))
        value = _loss(n, 0.1, k) * (1 if k % 4 else -1)  # some negative: linear space
        value[rng.integers(0, n, 2)] *= 30
        if k % 5 == 0:
            value[rng.integers(0, n)] = np.inf
        items.append((["loss", "accuracy", "gradient_norm/w"][k % 3], value))
    states = [SeriesState(rules_for(tag)) for tag, _ in items]
    columns = [(np.arange(len(value)), value) for _, value in items]
    health_state.update_all(
        (state, step, value) for state, (step, value) in zip(states, columns, strict=True)
    )
    for state, (tag, value) in zip(states, items, strict=True):
        together = findings(state, tag, np.arange(len(value)), value)
        assert _described(together) == _described(_flags(tag, value))
