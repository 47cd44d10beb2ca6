"""The distributions plugin: the compressor equals TensorBoard's bit for bit (random and edge-case
histograms, NaN and Inf included), and the routes answer as TensorBoard's app does."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pytest
from route_support import get_json, lumiboard_client, route_fixtures, strict_json
from starlette.testclient import TestClient
from tensorboard.plugins.distribution import compressor as tb_compressor
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter, summary
from lumiboard.plugins.distributions.compressor import NORMAL_HISTOGRAM_BPS, compress_histogram

BASE = "/data/plugin/distributions"


def _same(ours: list[tuple[int, float]], theirs: list[tuple[float, float]]) -> bool:
    """Equal lists of (basis point, value), NaN equal to NaN, bits otherwise."""
    if len(ours) != len(theirs):
        return False
    for (bp, value), (their_bp, their_value) in zip(ours, theirs, strict=True):
        if bp != their_bp:
            return False
        if math.isnan(value) and math.isnan(float(their_value)):
            continue
        if value != their_value:
            return False
    return True


def _tensorboard(rows: np.ndarray) -> list[tuple[float, float]]:
    with np.errstate(all="ignore"):
        result: list[tuple[float, float]] = tb_compressor.compress_histogram(rows.tolist())
    return result


def _random_histogram(rng: np.random.Generator) -> np.ndarray:
    k = int(rng.integers(1, 40))
    edges = np.sort(rng.normal(0, 10, k + 1))
    if rng.random() < 0.3:  # zero-width buckets
        edges[rng.integers(0, k + 1, 3)] = edges[0]
        edges.sort()
    counts = rng.integers(0, 50, k).astype(np.float64)
    if rng.random() < 0.4:  # empty buckets at the ends and inside
        counts[rng.integers(0, k, max(1, k // 2))] = 0
    if rng.random() < 0.2:
        counts = counts * rng.random(k)  # fractional counts (re-binned data)
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def test_compressor_equals_tensorboard_on_random_histograms() -> None:
    rng = np.random.default_rng(1234)
    for case in range(2_000):
        rows = _random_histogram(rng)
        assert _same(compress_histogram(rows), _tensorboard(rows)), (case, rows.tolist())


EDGE_CASES = {
    "no buckets": np.zeros((0, 3)),
    "one bucket": np.array([[0.0, 1.0, 5.0]]),
    "all counts zero": np.array([[0.0, 1.0, 0.0], [1.0, 2.0, 0.0]]),
    "zero-width": np.array([[3.0, 3.0, 10.0]]),
    "tf2 constant": np.array([[3.0, 3.0, 0.0]] * 29 + [[3.0, 3.0, 10.0]]),
    "tf2 empty": np.zeros((30, 3)),
    "empty ends": np.array([[0, 1, 0], [1, 2, 4], [2, 3, 0], [3, 4, 4], [4, 5, 0]], float),
    "one full of many": np.array([[0, 1, 0], [1, 2, 0], [2, 3, 7], [3, 4, 0]], float),
    "negative count": np.array([[0, 1, 3], [1, 2, -1], [2, 3, 2]], float),
    "huge edges": np.array([[-1e308, 0.0, 1.0], [0.0, 1e308, 1.0]]),
    "tiny counts": np.array([[0, 1, 1e-300], [1, 2, 1e-300]]),
    "nan count": np.array([[0, 1, 1], [1, 2, np.nan], [2, 3, 1]]),
    "all nan counts": np.array([[0, 1, np.nan], [1, 2, np.nan]]),
    "inf count": np.array([[0, 1, 1], [1, 2, np.inf], [2, 3, 1]]),
    "-inf count": np.array([[0, 1, 1], [1, 2, -np.inf]]),
    "nan edges": np.array([[np.nan, 1, 1], [1, np.nan, 1], [np.nan, 3, 1]]),
    "inf edges": np.array([[-np.inf, 0, 2], [0, 1, 3], [1, np.inf, 2]]),
    "nan everywhere": np.full((3, 3), np.nan),
    "reversed edges": np.array([[2.0, 1.0, 3.0], [1.0, 0.0, 3.0]]),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_compressor_equals_tensorboard_on_edge_cases(name: str) -> None:
    rows = EDGE_CASES[name]
    ours = compress_histogram(rows)
    assert [bp for bp, _ in ours] == list(NORMAL_HISTOGRAM_BPS)
    assert _same(ours, _tensorboard(rows)), (ours, _tensorboard(rows))


def test_compressor_values() -> None:
    # Uniform over [0, 10]: the basis points are percentiles of it.
    rows = np.array([[float(i), float(i + 1), 1.0] for i in range(10)])
    values = [value for _, value in compress_histogram(rows)]
    assert values == pytest.approx([bp / 1000 for bp in NORMAL_HISTOGRAM_BPS])
    assert compress_histogram(np.zeros((0, 3))) == [(bp, 0.0) for bp in NORMAL_HISTOGRAM_BPS]
    with pytest.raises(ValueError, match=r"\[k, 3\]"):
        compress_histogram(np.zeros((4,)))


# ---- routes --------------------------------------------------------------------------------


def _write_logdir(root: Path) -> None:
    rng = np.random.default_rng(7)
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(20):
            writer.add_histogram("w", rng.normal(step, 1.0, 300), step, walltime=50.0 + step)
        writer.add_text("note", "a tensor of another plugin", 0)
    tf2 = summary.create_file_writer(str(root / "tf2"))
    with tf2.as_default():
        for step in range(20):
            summary.histogram("w", rng.normal(-step, 2.0, 300), step=step)
        summary.histogram("empty", np.array([]), step=0)
    tf2.close()
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(20):
        writer.add_histogram("w", rng.normal(0.5 * step, 1.0, 400), step)
    writer.close()


logdir, client, tensorboard = route_fixtures(_write_logdir)


def _get(client: TestClient, route: str, **params: str) -> Any:
    return get_json(client, f"{BASE}/{route}", **params)


def test_routes_equal_tensorboards(client: TestClient, tensorboard: Any) -> None:
    tags = _get(client, "tags")
    assert {run: set(by_tag) for run, by_tag in tags.items()} == {
        "lumi": {"w"},
        "tf2": {"w", "empty"},
        "torch": {"w"},
    }
    theirs = _get(tensorboard, "tags")
    assert {run: set(t) for run, t in theirs.items()} == {run: set(t) for run, t in tags.items()}
    for run, by_tag in tags.items():
        for tag in by_tag:
            ours = _get(client, "distributions", run=run, tag=tag)
            assert ours == _get(tensorboard, "distributions", run=run, tag=tag), (run, tag)


def test_distributions_shape(client: TestClient) -> None:
    points = _get(client, "distributions", run="lumi", tag="w")
    assert [p[1] for p in points] == list(range(20))
    assert [p[0] for p in points] == [50.0 + s for s in range(20)]
    for _, step, pairs in points:
        assert [bp for bp, _ in pairs] == list(NORMAL_HISTOGRAM_BPS)
        values = [value for _, value in pairs]
        assert values == sorted(values)
        assert abs(values[4] - step) < 0.3  # the median of normal(step, 1)
    assert len(_get(client, "distributions", run="lumi", tag="w", samples="5")) == 5


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"tag": "w"}, 400, "'run'"),
        ({"run": "lumi"}, 400, "'tag'"),
        ({"run": "nope", "tag": "w"}, 404, "'nope'"),
        ({"run": "lumi", "tag": "nope"}, 404, "'nope'"),
        ({"run": "lumi", "tag": "note"}, 404, "'note'"),
        ({"run": "lumi", "tag": "w", "samples": "many"}, 400, "samples"),
    ],
)
def test_errors_are_json(
    client: TestClient, params: dict[str, str], status: int, words: str
) -> None:
    response = client.get(f"{BASE}/distributions?{urlencode(params)}")
    assert response.status_code == status
    assert words in response.json()["error"]


def test_plugins_listing_enables_distributions(client: TestClient) -> None:
    listing = client.get("/data/plugins_listing").json()
    assert listing["distributions"]["enabled"] is True
    assert listing["distributions"]["tab_name"] == "Distributions"
    assert listing["histograms"]["enabled"] is True


def test_non_finite_histograms_never_fail(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "odd")) as writer:
        writer.add_histogram_raw(
            "odd", np.nan, np.inf, 3, 1.0, 1.0, [1.0, 2.0], [1.0, np.inf], global_step=0
        )
        writer.add_histogram_raw("odd", -np.inf, 1.0, 1, 1.0, 1.0, [1.0], [1.0], global_step=1)
    with lumiboard_client(tmp_path) as client:
        response = client.get(f"{BASE}/distributions?run=odd&tag=odd")
        assert response.status_code == 200
        points = strict_json(response.text)
        assert len(points) == 2
        assert all(isinstance(v, float | str) for _, _, pairs in points for _, v in pairs)
