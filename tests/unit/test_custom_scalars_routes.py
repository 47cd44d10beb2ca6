"""The custom scalars routes answer as TensorBoard's ``custom_scalars`` plugin, checked in-process.

Two runs carry layouts (lumiboard's ``add_custom_scalars`` and torch's), overlapping in one
category; both log scalars, NaN included. lumiboard's ``POST /series`` (the dashboard's route)
is checked on its own: regex matching, columns, and bounded work on hostile regexes.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np
import psutil
import pytest
from route_support import get_json, lumiboard_client, route_fixtures
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter
from lumiboard.plugins.custom_scalars import routes
from lumiboard.server import workers
from lumiboard.store import patterns

CS = "/data/plugin/custom_scalars"
LUMI_LAYOUT = {
    "Losses": {
        "all losses": ["Multiline", [r"loss/.*"]],
        "train only": ["Multiline", ["loss/train$"]],
    },
    "Accuracy": {"acc with bounds": ["Margin", ["acc", "acc_lo", "acc_hi"]]},
}
TORCH_LAYOUT = {
    "Losses": {
        "all losses": ["Multiline", [r"loss/.*"]],
        "val": ["Multiline", ["loss/val"]],
    },
    "Extra": {"anything": ["Multiline", ["a"]]},
}


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_custom_scalars(LUMI_LAYOUT)
        for step in range(30):
            writer.add_scalar("loss/train", 1 / (step + 1), step, walltime=10.0 + step)
            writer.add_scalar("loss/val", math.nan if step == 3 else 2 / (step + 1), step)
            writer.add_scalar("acc", step / 30, step)
            writer.add_scalar("acc_lo", step / 30 - 0.1, step)
            writer.add_scalar("acc_hi", step / 30 + 0.1, step)
            writer.add_scalar("a" * 40 + "!", 1.0, step)
    torch_writer = torch_tb.SummaryWriter(str(root / "torch"))
    torch_writer.add_custom_scalars(TORCH_LAYOUT)
    for step in range(20):
        torch_writer.add_scalar("loss/train", 3.0 - step * 0.1, step)
        torch_writer.add_scalar("loss/val", 3.5 - step * 0.1, step)
    torch_writer.close()
    with SummaryWriter(str(root / "no_layout")) as writer:
        writer.add_scalar("loss/train", 0.5, 0)


logdir, client, tensorboard = route_fixtures(_write_logdir)


def test_layout_equals_tensorboard(client: TestClient, tensorboard: Any) -> None:
    ours = client.get(f"{CS}/layout").json()
    assert ours == get_json(tensorboard, f"{CS}/layout")
    titles = [category["title"] for category in ours["category"]]
    assert titles == ["Losses", "Accuracy", "Extra"]  # runs in name order: lumi, then torch
    losses = ours["category"][0]
    assert [chart["title"] for chart in losses["chart"]] == ["all losses", "train only", "val"]
    margin = ours["category"][1]["chart"][0]["margin"]["series"][0]
    assert margin == {"value": "acc", "lower": "acc_lo", "upper": "acc_hi"}


def test_layout_is_empty_object_without_layouts(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_scalar("x", 1.0, 0)
    with lumiboard_client(tmp_path) as bare:
        assert bare.get(f"{CS}/layout").json() == {}
        assert bare.get("/data/plugins_listing").json()["custom_scalars"]["enabled"] is False


@pytest.mark.parametrize(
    "pattern", ["loss/.*", "loss", "acc", "acc_.*", "train", ".*", "(", "", "a{2,1}", "zzz"]
)
@pytest.mark.parametrize("run", ["lumi", "torch", "no_layout", "nope"])
def test_scalars_equal_tensorboard(
    client: TestClient, tensorboard: Any, run: str, pattern: str
) -> None:
    query = urlencode({"run": run, "tag": pattern})
    response = client.get(f"{CS}/scalars?{query}")
    assert response.status_code == 200, response.text
    ours = response.json()
    theirs = get_json(tensorboard, f"{CS}/scalars?{query}")
    ours.pop("error", None)
    assert ours == theirs


def test_scalars_keeps_tensorboards_nan_strings(client: TestClient) -> None:
    body = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': 'loss/val'})}").json()
    assert body["regex_valid"] is True
    assert body["tag_to_events"]["loss/val"][3][2] == "NaN"


@pytest.mark.parametrize("fmt", ["csv", "json", None])
def test_download_data_equals_tensorboard(
    client: TestClient, tensorboard: Any, fmt: str | None
) -> None:
    params = {"run": "lumi", "tag": "loss/val"} | ({"format": fmt} if fmt else {})
    query = urlencode(params)
    ours = client.get(f"{CS}/download_data?{query}")
    assert ours.status_code == 200
    theirs = tensorboard.get(f"{CS}/download_data?{query}").get_data(as_text=True)
    if fmt == "csv":
        assert ours.headers["content-type"].startswith("text/csv")
        assert ours.text == theirs
    else:
        assert ours.json() == json.loads(theirs)


def test_errors_are_json(client: TestClient) -> None:
    cases = {
        f"{CS}/scalars?tag=loss": 400,
        f"{CS}/download_data?run=lumi": 400,
        f"{CS}/download_data?tag=acc": 400,
        f"{CS}/download_data?run=lumi&tag=nope": 404,
        f"{CS}/download_data?run=nope&tag=acc": 404,
    }
    for url, status in cases.items():
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        assert "error" in response.json()


def test_catastrophic_regex_is_bounded(client: TestClient) -> None:
    evil = "(a|aa)+$"  # exponential backtracking on "aaa...a!"
    started = time.monotonic()
    body = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': evil})}").json()
    assert time.monotonic() - started < 5 * patterns.MATCH_SECONDS + 2
    assert body["regex_valid"] is False
    assert "longer than" in body["error"]
    response = client.post(
        f"{CS}/series", json={"regexes": [evil, "loss/train"], "runs": ["lumi"], "buckets": 100}
    )
    assert response.status_code == 200
    verdicts = response.json()["regexes"]
    assert verdicts[0]["regex_valid"] is False
    assert time.monotonic() - started < 10 * patterns.MATCH_SECONDS + 4


def test_overlong_regex_is_invalid(client: TestClient) -> None:
    pattern = "a" * (patterns.MAX_PATTERN_LENGTH + 1)
    body = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': pattern})}").json()
    assert body["regex_valid"] is False


def _column(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8")


def test_series_matches_regexes_over_runs(client: TestClient) -> None:
    request = {
        "regexes": ["loss/.*", "acc$", "("],
        "runs": ["lumi", "torch", "nope"],
        "buckets": 1000,
        "x": "step",
    }
    body = client.post(f"{CS}/series", json=request).json()
    assert [v["regex_valid"] for v in body["regexes"]] == [True, True, False]
    assert body["truncated"] is False
    pairs = {(tag, run) for tag, by_run in body["tags"].items() for run in by_run}
    assert pairs == {
        ("loss/train", "lumi"), ("loss/val", "lumi"), ("acc", "lumi"),
        ("loss/train", "torch"), ("loss/val", "torch"),
    }  # fmt: skip
    columns = body["tags"]["loss/train"]["lumi"]
    assert columns["total"] == 30
    assert _column(columns["step"]).tolist() == list(range(30))
    assert _column(columns["wall_time"])[0] == 10.0
    assert _column(columns["value"]) == pytest.approx([1 / (s + 1) for s in range(30)])
    ranged = client.post(
        f"{CS}/series", json=request | {"min_step": 5, "max_step": 9, "x": "relative"}
    ).json()
    # The range, and the neighbour on each side (the line runs on to the chart's edges).
    assert _column(ranged["tags"]["loss/train"]["lumi"]["step"]).tolist() == list(range(4, 11))


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"runs": ["lumi"]}',
        b'{"regexes": "loss", "runs": ["lumi"]}',
        b'{"regexes": ["loss"], "runs": "lumi"}',
        b'{"regexes": ["loss"], "runs": [], "buckets": 0}',
        b'{"regexes": ["loss"], "runs": [], "buckets": true}',
        b'{"regexes": ["loss"], "runs": [], "x": "time"}',
        b'{"regexes": ["loss"], "runs": [], "min_step": "1"}',
    ],
)
def test_series_rejects_bad_bodies(client: TestClient, body: bytes) -> None:
    response = client.post(f"{CS}/series", content=body)
    assert response.status_code == 400
    assert "error" in response.json()


# Counted repeats the regex package expands when it compiles: each would take seconds and
# hundreds of MB to GB (or be killed for memory), and the package used to cache them.
EXPANDING = ["(?:(?:a{1000}){1000}){1000}", "(?:a{1000}){1000}", "a{100000}"]


def _scalars(client: TestClient, pattern: str) -> dict[str, Any]:
    response = client.get(f"{CS}/scalars?{urlencode({'run': 'lumi', 'tag': pattern})}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("pattern", EXPANDING)
def test_expanding_repeats_are_invalid_and_quick(client: TestClient, pattern: str) -> None:
    started = time.monotonic()
    body = _scalars(client, pattern)
    assert body["regex_valid"] is False
    assert "repeat" in body["error"]
    response = client.post(
        f"{CS}/series", json={"regexes": [pattern, "acc$"], "runs": ["lumi"], "buckets": 10}
    )
    assert response.status_code == 200, response.text
    verdicts = response.json()["regexes"]
    assert [v["regex_valid"] for v in verdicts] == [False, True]
    assert time.monotonic() - started < 2


def test_expanding_repeats_do_not_grow_memory(client: TestClient) -> None:
    process = psutil.Process()
    before = process.memory_info().rss
    started = time.monotonic()
    for i in range(20):  # distinct patterns: a cache would keep every one
        # Every bound at most 1,000: the product of the nested bounds is what is too large.
        outer = f"(?:(?:a{{{1000 - i}}}){{{999 - i}}}){{{10 + i}}}"
        pattern = outer if i % 2 else f"(?:b{{{500 + i}}}){{{900 + i}}}"
        body = _scalars(client, pattern)
        assert body["regex_valid"] is False
    assert time.monotonic() - started < 10
    assert process.memory_info().rss - before < 100 * 2**20


@pytest.mark.parametrize(
    "pattern", ["a{1000}", "(?:a{100}){100}", "loss/.{0,1000}", "(?:loss|acc){2,}.*", "a{5,}"]
)
def test_repeats_within_bounds_are_valid(pattern: str) -> None:
    # (?:a{100}){100}: a product of 10,000, the most allowed.
    matched = patterns.compile_pattern(pattern).match("a" * 10_000, patterns.Budget.start(1))
    assert matched in (True, False)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a{1001}", "a counted repeat over 1000"),
        ("a{1001,}", "a counted repeat over 1000"),  # unbounded: the lower bound counts
        ("(?:a{100}){101}", "nested counted repeats"),
        ("(?:x|(?:a{101}){100})", "nested counted repeats"),  # within a branch
        ("(?=(?:a{200}){200})", "nested counted repeats"),  # within a lookahead
        ("(?>(?:a{200}){200})", "nested counted repeats"),  # within an atomic group
        ("(a)?(?(1)(?:a{200}){200}|b)", "nested counted repeats"),  # within a conditional
        ("(?:a{200}){200}?", "nested counted repeats"),  # lazy
        ("(?:a{200}){200}+", "nested counted repeats"),  # possessive
        ("a{99999999999}", "too large"),  # beyond re's limit
        (r"\p{L}", "bad escape"),  # the regex package's syntax, not re's (TensorBoard's)
    ],
)
def test_large_repeats_are_invalid(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        patterns.compile_pattern(pattern)


def test_deep_nesting_is_no_server_error(client: TestClient) -> None:
    # re parses it; the repeat check is iterative; regex's compiler may run out of recursion.
    deep = "(" * 400 + "a{10}" + ")" * 400
    patterns.check_pattern(deep)
    assert _scalars(client, deep)["regex_valid"] in (True, False)
    assert _scalars(client, "(" * 400 + "a{200}){200}" + ")" * 399)["regex_valid"] is False


@pytest.mark.parametrize("error", [MemoryError, RecursionError, OverflowError])
def test_compile_failures_are_invalid(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(patterns.regex, "compile", failing)
    body = _scalars(client, "loss")
    assert body["regex_valid"] is False
    assert body["error"]


def test_compiled_patterns_are_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    compile_ = patterns.regex.compile

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("cache_pattern"))
        return compile_(*args, **kwargs)

    monkeypatch.setattr(patterns.regex, "compile", recording)
    patterns.compile_pattern("loss/.*")
    assert seen == [False]


def test_series_checks_the_budget_before_each_compile(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled: list[str] = []
    compile_ = patterns.compile_pattern

    def slow(pattern: str, flags: int = 0) -> patterns.BoundedPattern:
        compiled.append(pattern)
        time.sleep(0.05)
        return compile_(pattern, flags)

    monkeypatch.setattr(patterns, "compile_pattern", slow)
    monkeypatch.setattr(patterns, "MATCH_SECONDS", 0.12)
    body = client.post(
        f"{CS}/series", json={"regexes": ["acc$"] * 10, "runs": ["lumi"], "buckets": 10}
    ).json()
    assert len(compiled) < 10
    assert body["regexes"][-1]["regex_valid"] is False
    assert "longer than" in body["regexes"][-1]["error"]


def test_regex_work_runs_off_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    offloaded: list[str] = []

    def recording(run: Any) -> Any:
        async def recorded(func: Any, *args: Any) -> Any:
            offloaded.append(func.__name__)
            return await run(func, *args)

        return recorded

    for name in ("run", "run_bulk"):
        monkeypatch.setattr(workers, name, recording(getattr(workers, name)))
    assert _scalars(client, "acc$")["regex_valid"] is True
    client.post(f"{CS}/series", json={"regexes": ["acc$"], "runs": ["lumi"], "buckets": 10})
    assert offloaded == ["_scalars", "_series"]


def test_series_caps_the_runs(client: TestClient) -> None:
    runs = [f"run{i}" for i in range(2 * routes.MAX_RUNS)]
    response = client.post(f"{CS}/series", json={"regexes": ["acc$"], "runs": runs})
    assert response.status_code == 400
    assert "runs" in response.json()["error"]
    at_cap = [*runs[: routes.MAX_RUNS - 1], "lumi"]
    response = client.post(f"{CS}/series", json={"regexes": ["acc$"], "runs": at_cap})
    assert response.status_code == 200
    assert list(response.json()["tags"]["acc"]) == ["lumi"]


def test_series_counts_a_repeated_run_once(client: TestClient) -> None:
    runs = ["lumi", "torch"] * 400  # 800 names, 2 runs: 5 series, not 2,000
    body = client.post(
        f"{CS}/series", json={"regexes": ["loss/.*", "acc$"], "runs": runs, "buckets": 10}
    ).json()
    assert body["truncated"] is False
    pairs = {(tag, run) for tag, by_run in body["tags"].items() for run in by_run}
    assert pairs == {
        ("loss/train", "lumi"), ("loss/val", "lumi"), ("acc", "lumi"),
        ("loss/train", "torch"), ("loss/val", "torch"),
    }  # fmt: skip
