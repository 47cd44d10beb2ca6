"""``lumiboard.watch`` on PyTorch modules, read back with TensorBoard's own ``EventAccumulator``.

A tiny model with fixed weights trains next to an unwatched copy of itself; every logged
value is checked against the copy's weights and gradients, reduced with numpy here.
"""

from __future__ import annotations

import copy
import logging
import math
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

from lumiboard import SummaryWriter  # noqa: E402
from lumiboard.integrations import torch_watch, torch_watch_stats  # noqa: E402
from lumiboard.watching import array_histogram, parse_log, unwatch, watch  # noqa: E402

X = torch.tensor([[1.0, 2.0], [-1.0, 0.5]])
TARGET = torch.tensor([[0.0], [1.0]])
LR = 0.1


def tiny_model() -> Any:
    """Linear(2, 3) -> ReLU -> Linear(3, 1) -> Tanh, with weights that make, on X:

    ReLU unit 2 dead (0 for both samples), unit 0 zero for one sample only (alive), and
    the Tanh output saturated (0.995) for one sample of two.
    """
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Tanh())
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
        model[0].bias.copy_(torch.tensor([0.0, 0.0, -10.0]))
        model[2].weight.copy_(torch.tensor([[3.0, 0.0, 1.0]]))
        model[2].bias.zero_()
    return model


def train_step(model: Any, optimizer: Any, x: Any = X) -> None:
    loss = ((model(x) - TARGET) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def read(log_dir: Path) -> Any:
    accumulator = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0}
    )
    accumulator.Reload()
    return accumulator


def scalar_points(run: Any, tag: str) -> dict[int, float]:
    return {event.step: event.value for event in run.Scalars(tag)}


def norm(array: Any) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64)))


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SummaryWriter]:
    with SummaryWriter(tmp_path / "run") as opened:
        yield opened
    unwatch()


def test_values_match_the_weights_and_gradients_of_an_unwatched_copy(
    tmp_path: Path, writer: SummaryWriter
) -> None:
    model, reference = tiny_model(), tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=LR)
    watch(model, writer, log="all", log_freq=2)
    weights: dict[int, dict[str, np.ndarray]] = {}
    gradients: dict[int, dict[str, np.ndarray]] = {}
    for step in range(5):
        weights[step] = {n: p.detach().numpy().copy() for n, p in reference.named_parameters()}
        relu = torch.relu(reference[0](X)).detach().numpy()
        if step == 0:
            relu_at_0 = relu
        train_step(model, optimizer)
        loss = ((reference(X) - TARGET) ** 2).mean()
        reference_optimizer.zero_grad()
        loss.backward()
        gradients[step] = {n: p.grad.numpy().copy() for n, p in reference.named_parameters()}
        reference_optimizer.step()
    writer.flush()
    run = read(tmp_path / "run")
    names = ["0.weight", "0.bias", "2.weight", "2.bias"]
    modules = ["0", "1", "2", "3"]
    assert sorted(run.Tags()["scalars"]) == sorted(
        [
            f"{kind}/{n}"
            for kind in ("parameter_norm", "update_ratio", "gradient_norm")
            for n in names
        ]
        + ["gradient_norm/(total)"]
        + [f"{kind}/{m}" for kind in ("dead_fraction", "saturated_fraction") for m in modules]
    )
    assert sorted(run.Tags()["histograms"]) == sorted(
        [f"{kind}/{n}" for kind in ("parameters", "gradients") for n in names]
        + [f"activations/{m}" for m in modules]
    )
    for name in names:
        assert scalar_points(run, f"parameter_norm/{name}") == pytest.approx(
            {step: norm(weights[step][name]) for step in (0, 2, 4)}, rel=1e-6
        )
        assert scalar_points(run, f"gradient_norm/{name}") == pytest.approx(
            {step: norm(gradients[step][name]) for step in (0, 2, 4)}, rel=1e-6
        )
        # No ratio at the first logged step: there is no previous copy yet.
        assert scalar_points(run, f"update_ratio/{name}") == pytest.approx(
            {
                step: norm(weights[step][name] - weights[step - 2][name])
                / (norm(weights[step - 2][name]) + 1e-12)
                for step in (2, 4)
            },
            rel=1e-5,
        )
    totals = {
        step: math.sqrt(sum(norm(g) ** 2 for g in gradients[step].values())) for step in (0, 2, 4)
    }
    assert scalar_points(run, "gradient_norm/(total)") == pytest.approx(totals, rel=1e-6)
    assert scalar_points(run, "dead_fraction/1")[0] == pytest.approx(1 / 3)
    assert scalar_points(run, "dead_fraction/0")[0] == 0.0
    assert scalar_points(run, "saturated_fraction/3")[0] == 0.5  # tanh(3) = 0.995
    assert scalar_points(run, "saturated_fraction/1")[0] == 0.0  # ReLU is unbounded
    # Histograms: the same buckets as numpy's reduction of the reference's tensors.
    for tag, array in (
        ("parameters/0.weight", weights[4]["0.weight"]),
        ("gradients/2.weight", gradients[2]["2.weight"]),
        ("activations/1", relu_at_0),
    ):
        step = {"parameters/0.weight": 4, "gradients/2.weight": 2, "activations/1": 0}[tag]
        got = {event.step: event.histogram_value for event in run.Histograms(tag)}[step]
        want = array_histogram(array)
        assert want is not None
        assert list(got.bucket) == list(want.bucket), tag
        assert (got.min, got.max, got.num) == pytest.approx((want.min, want.max, want.num)), tag
        assert got.sum_squares == pytest.approx(want.sum_squares, rel=1e-6), tag


def test_logs_exactly_the_multiples_of_log_freq_and_only_training_steps(
    tmp_path: Path, writer: SummaryWriter
) -> None:
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    handle = watch(model, writer, log_freq=3)
    for _ in range(8):
        train_step(model, optimizer)
        with torch.no_grad():
            model(X)  # an evaluation pass in training mode: not a step
        model.eval()
        model(X)  # nor one in eval mode, with gradients enabled
        model.train()
    assert handle.step == 8
    writer.flush()
    run = read(tmp_path / "run")
    for tag in ("parameter_norm/0.weight", "gradient_norm/(total)", "dead_fraction/1"):
        assert sorted(scalar_points(run, tag)) == [0, 3, 6], tag


def test_each_kind_alone(tmp_path: Path) -> None:
    for kind, prefixes in (
        ("parameters", {"parameters", "parameter_norm", "update_ratio"}),
        ("gradients", {"gradients", "gradient_norm"}),
        ("activations", {"activations", "dead_fraction", "saturated_fraction"}),
    ):
        with SummaryWriter(tmp_path / kind) as writer:
            model = tiny_model()
            optimizer = torch.optim.SGD(model.parameters(), lr=LR)
            watch(model, writer, log=kind, log_freq=1)
            for _ in range(2):
                train_step(model, optimizer)
            unwatch(model)
        tags = read(tmp_path / kind).Tags()
        assert {tag.split("/")[0] for tag in tags["scalars"] + tags["histograms"]} == prefixes


def test_unwatch_removes_every_hook_and_copy_and_the_model_pickles(writer: SummaryWriter) -> None:
    from torch.optim import optimizer as optimizer_module

    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    global_hooks = dict(optimizer_module._global_optimizer_pre_hooks)
    handle = watch(model, writer, log_freq=1)
    assert model._forward_pre_hooks
    train_step(model, optimizer)
    assert handle._previous  # a copy of each weight
    unwatch(model)
    for module in model.modules():
        assert not module._forward_pre_hooks
        assert not module._forward_hooks
        assert not module._backward_hooks
    assert dict(optimizer_module._global_optimizer_pre_hooks) == global_hooks
    assert handle._previous == {}
    assert model not in torch_watch._watches
    restored = pickle.loads(pickle.dumps(model))
    assert torch.equal(restored[0].weight, model[0].weight)
    unwatch(model)  # unwatching again does nothing


def test_a_watched_model_deep_copies_and_pickles_without_its_watch(
    tmp_path: Path, writer: SummaryWriter
) -> None:
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    watch(model, writer, log_freq=1)
    twin = copy.deepcopy(model)  # an EMA model, a best checkpoint
    restored = pickle.loads(pickle.dumps(model))
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=LR)
    for _ in range(2):
        train_step(twin, twin_optimizer)
        restored(X)
    train_step(model, optimizer)
    writer.flush()
    assert sorted(scalar_points(read(tmp_path / "run"), "parameter_norm/0.weight")) == [0]


def test_watching_again_replaces_the_watch(tmp_path: Path, writer: SummaryWriter) -> None:
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    first = watch(model, writer, log="parameters", log_freq=1)
    second = watch(model, writer, log="gradients", log_freq=2)
    assert first._handles == []
    assert len(model._forward_pre_hooks) == 1
    for _ in range(3):
        train_step(model, optimizer)
    writer.flush()
    run = read(tmp_path / "run")
    assert "parameter_norm/0.weight" not in run.Tags()["scalars"]
    assert sorted(scalar_points(run, "gradient_norm/(total)")) == [0, 2]
    assert second.step == 3


def test_ddp_names_drop_the_module_prefix(tmp_path: Path, writer: SummaryWriter) -> None:
    distributed = pytest.importorskip("torch.distributed")
    if not distributed.is_available():
        pytest.skip("torch.distributed is not built in")
    store = distributed.FileStore(str(tmp_path / "store"), 1)
    distributed.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        model = nn.parallel.DistributedDataParallel(tiny_model())
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        watch(model, writer, log_freq=1)
        for _ in range(2):
            train_step(model, optimizer)
        unwatch(model)
        assert not model._forward_pre_hooks
        assert not model.module._forward_pre_hooks
    finally:
        distributed.destroy_process_group()
    writer.flush()
    tags = read(tmp_path / "run").Tags()
    assert "gradient_norm/0.weight" in tags["scalars"]
    assert "activations/1" in tags["histograms"]
    assert not [tag for tag in tags["scalars"] + tags["histograms"] if "module" in tag]


def test_data_parallel_is_watched_as_a_whole(tmp_path: Path, writer: SummaryWriter) -> None:
    model = nn.DataParallel(tiny_model())  # on a CPU-only machine it calls the module itself
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    handle = watch(model, writer, log_freq=1)
    train_step(model, optimizer)
    assert handle.step == 1
    unwatch(model)
    assert not model._forward_pre_hooks
    writer.flush()
    tags = read(tmp_path / "run").Tags()
    assert {"gradient_norm/0.weight", "dead_fraction/1"} <= set(tags["scalars"])


def test_wrapper_levels_are_dropped_from_names(tmp_path: Path, writer: SummaryWriter) -> None:
    assert torch_watch.clean_name("module.layer._fsdp_wrapped_module.weight") == "layer.weight"
    assert torch_watch.clean_name("_orig_mod.fc._checkpoint_wrapped_module.bias") == "fc.bias"
    assert torch_watch.clean_name("encoder.module.weight") == "encoder.module.weight"

    class Wrapper(nn.Module):  # the names FSDP's wrapping gives
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self._fsdp_wrapped_module = inner

        def forward(self, x: Any) -> Any:
            return self._fsdp_wrapped_module(x)

    model = Wrapper(tiny_model())
    watch(model, writer, log="parameters", log_freq=1)
    model(X)
    writer.flush()
    assert "parameter_norm/0.weight" in read(tmp_path / "run").Tags()["scalars"]


def test_bfloat16_autocast_and_bfloat16_weights(tmp_path: Path, writer: SummaryWriter) -> None:
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    watch(model, writer, log_freq=1)
    for _ in range(2):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = ((model(X) - TARGET) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    half = tiny_model().to(torch.bfloat16)
    half_optimizer = torch.optim.SGD(half.parameters(), lr=LR)
    with SummaryWriter(tmp_path / "bf16") as half_writer:
        watch(half, half_writer, log_freq=1)
        for _ in range(2):
            train_step(half, half_optimizer, X.to(torch.bfloat16))
        unwatch(half)
    writer.flush()
    for name in ("run", "bf16"):
        run = read(tmp_path / name)
        assert scalar_points(run, "dead_fraction/1")[0] == pytest.approx(1 / 3), name
        activations = {e.step: e.histogram_value for e in run.Histograms("activations/3")}
        assert activations[1].num == 2, name
        for tag in ("gradient_norm/(total)", "update_ratio/0.weight", "parameter_norm/2.weight"):
            assert all(math.isfinite(v) and v > 0 for v in scalar_points(run, tag).values()), tag
    weight = half[0].weight.float().detach().numpy()
    got = scalar_points(read(tmp_path / "bf16"), "parameter_norm/0.weight")
    assert got[1] == pytest.approx(norm(weight), rel=1e-2)


def test_gradients_are_read_before_the_optimizer_step_when_accumulating(
    tmp_path: Path, writer: SummaryWriter
) -> None:
    model, reference = tiny_model(), tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    watch(model, writer, log="gradients", log_freq=4)
    halves = (X[:1], X[1:]), (TARGET[:1], TARGET[1:])
    for _ in range(2):  # two optimizer steps of two micro-batches each
        optimizer.zero_grad()
        for x, target in zip(*halves, strict=True):
            ((model(x) - target) ** 2).sum().backward()
        optimizer.step()
    ((reference(X) - TARGET) ** 2).sum().backward()
    writer.flush()
    got = scalar_points(read(tmp_path / "run"), "gradient_norm/0.weight")
    assert got == pytest.approx({0: norm(reference[0].weight.grad)}, rel=1e-6)


def test_gradients_are_unscaled_by_grad_scaler(tmp_path: Path, writer: SummaryWriter) -> None:
    model, reference = tiny_model(), tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    watch(model, writer, log="gradients", log_freq=1)
    loss = ((model(X) - TARGET) ** 2).mean()
    scaler.scale(loss).backward()
    scaler.step(optimizer)  # unscales, then optimizer.step(): the watch reads them there
    scaler.update()
    ((reference(X) - TARGET) ** 2).mean().backward()
    writer.flush()
    got = scalar_points(read(tmp_path / "run"), "gradient_norm/0.weight")
    assert got == pytest.approx({0: norm(reference[0].weight.grad)}, rel=1e-6)


def test_gradients_without_an_optimizer(tmp_path: Path, writer: SummaryWriter) -> None:
    # Manual updates, the gradients zeroed before each forward: the hooks of the backward.
    model, reference = tiny_model(), tiny_model()
    handle = watch(model, writer, log="gradients", log_freq=2)
    want = {}
    for step in range(6):
        for net in (model, reference):
            net.zero_grad()
            ((net(X) - TARGET) ** 2).mean().backward()
        if step % 2 == 0:
            want[step] = math.sqrt(sum(norm(p.grad) ** 2 for p in reference.parameters()))
        with torch.no_grad():
            for net in (model, reference):
                for param in net.parameters():
                    param.sub_(LR * param.grad)
    handle.remove()  # writes the gradients still pending
    writer.flush()
    got = scalar_points(read(tmp_path / "run"), "gradient_norm/(total)")
    assert got == pytest.approx(want, rel=1e-6)


def test_a_failing_reduction_or_writer_never_stops_training(
    tmp_path: Path, writer: SummaryWriter, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def broken(tensor: Any) -> Any:
        raise RuntimeError("reduction failed")

    monkeypatch.setattr(torch_watch_stats, "summarize", broken)
    watch(model, writer, log_freq=1)
    with caplog.at_level(logging.WARNING, logger="lumiboard.watching"):
        for _ in range(3):
            train_step(model, optimizer)
    failures = [r for r in caplog.records if "reduction failed" in str(r.exc_info)]
    # Once per kind of log (parameters, gradients, each layer's activations), not per step.
    assert len(failures) == len({r.getMessage() for r in failures}) == 6
    monkeypatch.undo()
    writer.flush()
    assert sorted(scalar_points(read(tmp_path / "run"), "dead_fraction/1")) == [0, 1, 2]

    class BrokenWriter:
        def write_values(self, values: Any, step: Any) -> None:
            raise OSError("disk full")

    watch(model, BrokenWriter(), log_freq=1)
    for _ in range(2):
        train_step(model, optimizer)


def test_a_muted_writer_hooks_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with SummaryWriter(tmp_path / "run", ranks="zero") as muted:
        model = tiny_model()
        watch(model, muted, log_freq=1)
        assert not model._forward_pre_hooks
        model(X)
    unwatch()


def test_other_writers_get_add_scalar_and_add_histogram_raw() -> None:
    calls: list[tuple[str, str, int]] = []

    class Recorder:
        def add_scalar(self, tag: str, value: float, step: int) -> None:
            calls.append(("scalar", tag, step))

        def add_histogram_raw(self, tag: str, *args: Any) -> None:
            calls.append(("histogram", tag, args[-1]))

    model = tiny_model()
    watch(model, Recorder(), log="parameters", log_freq=1)
    model(X)
    unwatch()
    assert ("scalar", "parameter_norm/0.weight", 0) in calls
    assert ("histogram", "parameters/2.bias", 0) in calls


def test_unit_layout_and_saturation_rules() -> None:
    stats = torch_watch_stats
    assert stats.unit_dim(4, stats.features_last(nn.Conv2d(1, 2, 1)), False, None) == 1
    assert stats.unit_dim(3, stats.features_last(nn.Linear(2, 2)), False, None) == 2
    assert stats.unit_dim(3, False, True, 2) == 2  # a ReLU after a Linear on (N, L, F)
    assert stats.unit_dim(4, False, True, 1) == 1  # a ReLU after a conv
    sequence = torch.ones(2, 5, 4)

    class Swish(nn.Module):  # a library's own activation module
        def forward(self, x: Any) -> Any:
            return x * torch.sigmoid(x)

    assert stats.is_elementwise(nn.ReLU())
    assert stats.is_elementwise(Swish(), (sequence,), Swish()(sequence))
    assert not stats.is_elementwise(nn.Linear(4, 4), (sequence,), sequence)
    assert not stats.is_elementwise(nn.MaxPool1d(2), (sequence,), sequence[:, :, :2])
    output = torch.zeros(2, 3, 2, 2)
    output[0, 1, 0, 0] = 1.0  # channel 1 alive in one sample and one position
    assert float(torch_watch_stats.dead_fraction(output, 1)) == pytest.approx(2 / 3)
    six = torch.tensor([0.0, 3.0, 6.0, 6.0])
    assert float(torch_watch_stats.saturated_fraction(nn.ReLU6(), six)) == 0.75
    assert torch_watch_stats.saturated_fraction(nn.GELU(), six) is None


def test_non_finite_values_give_non_finite_norms_and_finite_histograms() -> None:
    reductions = torch_watch_stats.Reductions()
    reductions.histogram("h", torch.tensor([1.0, float("nan"), 3.0, float("inf")]), "n")
    reductions.histogram("constant", torch.full((5,), 2.0), "c")
    reductions.histogram("none", torch.tensor([float("nan")]), "z")
    scalars, histograms = reductions.to_cpu()
    values = dict(scalars)
    assert math.isnan(values["n"])
    assert values["c"] == pytest.approx(math.sqrt(20))
    protos = dict(histograms)
    assert (protos["h"].min, protos["h"].max, protos["h"].num, sum(protos["h"].bucket)) == (
        1.0,
        3.0,
        4.0,
        2.0,
    )
    assert (list(protos["constant"].bucket_limit), list(protos["constant"].bucket)) == (
        [2.0],
        [5.0],
    )
    assert "none" not in protos  # nothing finite to bucket


def test_the_no_wait_device_path_matches_the_cpu_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # GPUs take the masked path that never waits for the device; run it here on the CPU.
    values = torch.randn(5000, generator=torch.Generator().manual_seed(0)) * 3
    fast_stats, fast_counts = torch_watch_stats.summarize(values)
    monkeypatch.setattr(torch_watch_stats, "_EXACT_FLOAT_COUNT", 0)
    stats, counts = torch_watch_stats.summarize(values)
    assert stats.tolist() == pytest.approx(fast_stats.tolist(), rel=1e-5)
    assert int(counts.sum()) == int(fast_counts.sum()) == 5000
    # Equal up to a value sitting on a bucket edge, rounded the other way.
    assert int((counts - fast_counts).abs().sum()) <= 2
    want = array_histogram(values.numpy())
    assert want is not None
    assert int((counts[:-1] - torch.tensor(want.bucket).long()).abs().sum()) <= 2


def test_log_argument() -> None:
    assert parse_log("all") == {"parameters", "gradients", "activations"}
    assert parse_log(["gradients", "parameters"]) == {"gradients", "parameters"}
    with pytest.raises(ValueError, match="log must be"):
        parse_log("weights")
    with pytest.raises(ValueError, match="log_freq"):
        watch(tiny_model(), object(), log_freq=0)
    with pytest.raises(TypeError, match=r"torch\.nn\.Module or a Keras 3 model"):
        watch(object(), object())


def test_importing_watching_imports_no_framework() -> None:
    code = (
        "import sys, lumiboard.watching as w\n"
        "w.unwatch()\n"
        "print(sorted(m for m in ('torch', 'keras', 'jax') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
