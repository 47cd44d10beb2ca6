"""``lumiboard.lightning.TensorBoardLogger`` in real ``lightning.Trainer`` runs.

The same tiny module is fitted with Lightning's own ``TensorBoardLogger`` (torch's writer)
and with ours; both logs are read with TensorBoard's ``EventAccumulator`` and hparams
plugin, so tags, steps, values, hparams and ``hparams.yaml`` are compared with Lightning's,
not only with lumiboard's reader. A subprocess runs the example with tensorboard and
tensorboardX made unimportable.
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

L = pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from lightning.pytorch.loggers import Logger  # noqa: E402
from lightning.pytorch.loggers import TensorBoardLogger as LightningLogger  # noqa: E402
from lightning.pytorch.utilities.rank_zero import rank_zero_only  # noqa: E402
from route_support import lumiboard_client, tensorboard_client  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.backend.event_processing.plugin_event_accumulator import (  # noqa: E402
    EventAccumulator as PluginEventAccumulator,
)
from tensorboard.plugins.hparams import plugin_data_pb2  # noqa: E402

from lumiboard.lightning import TensorBoardLogger  # noqa: E402

pytestmark = [
    # Lightning's own code trips torch's pytree deprecation while fitting.
    pytest.mark.filterwarnings("ignore:.*LeafSpec.*"),
]

ROOT = Path(__file__).resolve().parents[2]
HPARAMS = {"lr": 0.1, "hidden": 4, "act": "relu", "fast": True, "nested": {"a": 1, "b": {"c": "x"}}}


class Tiny(L.LightningModule):  # type: ignore[misc]
    def __init__(
        self,
        lr: float = 0.1,
        hidden: int = 4,
        act: str = "relu",
        fast: bool = True,
        nested: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(3, 1)
        self.example_input_array = torch.zeros(2, 3)

    def forward(self, x: Any) -> Any:
        return self.layer(x)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("val_loss", loss)
        self.log("hp_metric", loss)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader() -> Any:
    generator = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(
        torch.randn(16, 3, generator=generator), torch.randn(16, 1, generator=generator)
    )
    return torch.utils.data.DataLoader(data, batch_size=4)


def _fit(logger: Any) -> Any:
    L.seed_everything(0, verbose=False)
    trainer = L.Trainer(
        max_epochs=2,
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(Tiny(**HPARAMS), _loader(), _loader())
    return trainer


@dataclass
class Runs:
    root: Path
    ours: list[TensorBoardLogger]
    log_dirs: list[str]  # trainer.log_dir of our two runs
    theirs: LightningLogger


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    root = tmp_path_factory.mktemp("lightning")
    theirs = LightningLogger(root / "theirs", log_graph=True)
    _fit(theirs)
    ours, log_dirs = [], []
    for _ in range(2):
        logger = TensorBoardLogger(root / "ours", log_graph=True)
        log_dirs.append(_fit(logger).log_dir)
        ours.append(logger)
    return Runs(root, ours, log_dirs, theirs)


def _load(log_dir: str) -> EventAccumulator:
    accumulator = EventAccumulator(log_dir, size_guidance={"scalars": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def _scalars(accumulator: EventAccumulator) -> dict[str, list[tuple[int, float]]]:
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def _hparams(log_dir: str) -> dict[str, Any]:
    """The hparams plugin's data of a run, as TensorBoard's server reads it."""
    accumulator = PluginEventAccumulator(log_dir)
    accumulator.Reload()
    return {
        tag: plugin_data_pb2.HParamsPluginData.FromString(content)
        for tag, content in accumulator.PluginTagToContent("hparams").items()
    }


def test_version_directories_and_properties(runs: Runs) -> None:
    first, second = runs.ours
    assert (first.version, second.version) == (0, 1)
    base = os.path.join(str(runs.root / "ours"), "lightning_logs")
    assert [first.log_dir, second.log_dir] == [f"{base}/version_0", f"{base}/version_1"]
    # Lightning gives its TensorBoardLogger's version directory as trainer.log_dir.
    assert runs.log_dirs == [first.log_dir, second.log_dir]
    assert (first.name, first.root_dir, first.save_dir) == (
        "lightning_logs",
        base,
        str(runs.root / "ours"),
    )
    for logger in runs.ours:
        assert sorted(os.listdir(logger.log_dir))[-1] == "hparams.yaml"
    assert isinstance(first.experiment.get_logdir(), str)


def test_hparams_yaml_is_lightnings(runs: Runs) -> None:
    theirs = Path(runs.theirs.log_dir, "hparams.yaml").read_text()
    assert "nested:\n  a: 1\n  b:\n    c: x\n" in theirs
    for logger in runs.ours:
        assert Path(logger.log_dir, "hparams.yaml").read_text() == theirs


def test_scalars_match_lightnings_own_logger(runs: Runs) -> None:
    theirs = _scalars(_load(runs.theirs.log_dir))
    assert sorted(theirs) == [
        "epoch",
        "hp_metric",
        "train_loss_epoch",
        "train_loss_step",
        "val_loss",
    ]
    assert theirs["hp_metric"][0] == (0, -1.0)  # the placeholder, then the logged values
    for logger in runs.ours:
        ours = _scalars(_load(logger.log_dir))
        assert sorted(ours) == sorted(theirs)
        for tag, points in theirs.items():
            assert [step for step, _ in ours[tag]] == [step for step, _ in points], tag
            assert [value for _, value in ours[tag]] == pytest.approx([v for _, v in points])


def test_hparams_summaries_match_lightnings(runs: Runs) -> None:
    theirs = _hparams(runs.theirs.log_dir)
    ours = _hparams(runs.ours[0].log_dir)
    tags = ["_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"]
    assert sorted(ours) == sorted(theirs) == sorted(tags)
    start = ours[tags[1]].session_start_info
    their_start = theirs[tags[1]].session_start_info
    expected = {"lr": 0.1, "hidden": 4.0, "act": "relu", "nested/a": 1.0, "nested/b/c": "x"}
    for info in (start, their_start):
        values = {name: getattr(v, v.WhichOneof("kind")) for name, v in info.hparams.items()}
        assert set(values) == {*expected, "fast"}
        assert {name: values[name] for name in expected} == pytest.approx(expected)
    # torch's writer records a bool as 1.0; ours keeps it a bool.
    assert their_start.hparams["fast"].number_value == 1.0
    assert start.hparams["fast"].WhichOneof("kind") == "bool_value"
    assert start.hparams["fast"].bool_value is True
    experiment = ours[tags[0]].experiment
    their_experiment = theirs[tags[0]].experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["hp_metric"]
    assert [m.name.tag for m in their_experiment.metric_infos] == ["hp_metric"]
    names = sorted(info.name for info in experiment.hparam_infos)
    assert names == sorted(info.name for info in their_experiment.hparam_infos)
    assert ours[tags[2]].session_end_info.status == theirs[tags[2]].session_end_info.status


def test_graph_is_logged_as_lightning_logs_it(runs: Runs) -> None:
    theirs = _load(runs.theirs.log_dir).Tags()
    for logger in runs.ours:
        tags = _load(logger.log_dir).Tags()
        assert tags["graph"] is theirs["graph"] is True
        assert tags["run_metadata"] == theirs["run_metadata"] == ["step1"]


def test_hparams_dashboards_list_the_runs(runs: Runs) -> None:
    logdir = runs.root / "ours"
    last_val_loss = _scalars(_load(runs.ours[0].log_dir))["val_loss"][-1]
    with lumiboard_client(logdir) as client:
        table = client.get("/data/plugin/hparams/table").json()
    assert [s["run"] for s in table["sessions"]] == [
        "lightning_logs/version_0",
        "lightning_logs/version_1",
    ]
    columns = [column["name"] for column in table["hparams"]]
    assert sorted(columns) == ["act", "fast", "hidden", "lr", "nested/a", "nested/b/c"]
    assert [(m["group"], m["tag"]) for m in table["metrics"]] == [("", "hp_metric")]
    session = table["sessions"][0]
    assert session["hparams"][columns.index("act")] == "relu"
    assert session["hparams"][columns.index("fast")] is True
    metric = session["metrics"][0]
    assert (metric["step"], metric["value"]) == (last_val_loss[0], pytest.approx(last_val_loss[1]))
    # TensorBoard's own hparams plugin reads the same sessions and metric.
    request = {"allowedStatuses": ["STATUS_SUCCESS"], "sliceSize": 10}
    answer = tensorboard_client(logdir).post(
        "/data/plugin/hparams/session_groups",
        data=json.dumps(request),
        content_type="application/json",
    )
    assert answer.status_code == 200
    groups = json.loads(answer.get_data(as_text=True))["sessionGroups"]
    assert sorted(g["name"] for g in groups) == [
        "lightning_logs/version_0",
        "lightning_logs/version_1",
    ]
    first = next(g for g in groups if g["name"].endswith("version_0"))
    assert first["hparams"]["act"] == "relu"
    assert first["metricValues"][0]["name"]["tag"] == "hp_metric"
    assert first["metricValues"][0]["value"] == pytest.approx(last_val_loss[1])


def _direct_calls(logger: Any) -> None:
    logger.log_hyperparams({"lr": 0.5, "layers": [1, 2]})
    logger.log_metrics({"a": torch.tensor(1.5), "pair": {"x": 1.0, "y": 2.0}}, step=3)
    logger.log_metrics({"a": 2.5}, step=4)
    logger.finalize("success")


def _layout(root: Path) -> dict[str, list[str]]:
    """Each directory holding event files (relative) with the tags of its scalars."""
    found = {}
    for directory, _, files in os.walk(root):
        if any(name.startswith("events.out.tfevents") for name in files):
            found[os.path.relpath(directory, root)] = sorted(_load(directory).Tags()["scalars"])
    return found


def test_name_version_prefix_sub_dir_as_lightning(tmp_path: Path) -> None:
    options = {"name": "exp", "version": "run-a", "prefix": "p", "sub_dir": "s"}
    theirs = LightningLogger(tmp_path / "theirs", **options)
    ours = TensorBoardLogger(tmp_path / "ours", **options)
    _direct_calls(theirs)
    _direct_calls(ours)
    assert ours.log_dir == os.path.join(str(tmp_path / "ours"), "exp", "run-a", "s")
    layout = _layout(tmp_path / "ours")
    assert layout == _layout(tmp_path / "theirs")
    assert layout["exp/run-a/s"] == ["p-a", "p-hp_metric"]
    assert set(layout) == {"exp/run-a/s", "exp/run-a/s/p-pair_x", "exp/run-a/s/p-pair_y"}
    assert _scalars(_load(ours.log_dir)) == _scalars(_load(theirs.log_dir))
    yaml = Path(ours.log_dir, "hparams.yaml").read_text()
    assert (
        yaml == Path(theirs.log_dir, "hparams.yaml").read_text() == "layers:\n- 1\n- 2\nlr: 0.5\n"
    )
    # The HParams metric is the tag the scalar went to (Lightning declares "hp_metric").
    experiment = _hparams(ours.log_dir)["_hparams_/experiment"].experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["p-hp_metric"]


def test_same_constructor_as_lightnings() -> None:
    ours = inspect.signature(TensorBoardLogger)
    theirs = inspect.signature(LightningLogger)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == [
        (p.name, p.kind, p.default) for p in theirs.parameters.values()
    ]
    assert issubclass(TensorBoardLogger, Logger)


def test_int_version_empty_name_and_next_free_version(tmp_path: Path) -> None:
    (tmp_path / "version_7").mkdir()
    (tmp_path / "version_x").mkdir()
    (tmp_path / "version_9").write_text("a file, not a version")
    logger = TensorBoardLogger(tmp_path, name="")
    assert logger.version == 8
    assert TensorBoardLogger(tmp_path, name=None, version=3).log_dir == str(tmp_path / "version_3")
    assert TensorBoardLogger(tmp_path / "new").version == 0


def test_without_metrics_and_default_hp_metric_off_nothing_is_recorded(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, default_hp_metric=False)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_hyperparams({"depth": 2}, metrics=0.75, step=2)
    logger.finalize("success")
    assert _scalars(_load(logger.log_dir)) == {"hp_metric": [(2, 0.75)]}
    start = _hparams(logger.log_dir)["_hparams_/session_start_info"].session_start_info
    assert dict(start.hparams)["depth"].number_value == 2.0
    assert Path(logger.log_dir, "hparams.yaml").read_text() == "depth: 2\nlr: 0.1\n"


def test_graph_needs_log_graph_and_an_example_input(tmp_path: Path) -> None:
    module = Tiny()
    off = TensorBoardLogger(tmp_path, version="off")
    off.log_graph(module)
    off.finalize("success")  # creates the run, without a graph
    assert _load(off.log_dir).Tags()["graph"] is False
    on = TensorBoardLogger(tmp_path, version="on", log_graph=True)
    module.example_input_array = None
    with pytest.warns(UserWarning, match="example_input_array"):
        on.log_graph(module)
    with pytest.warns(UserWarning, match="can't be traced"):
        on.log_graph(module, [torch.zeros(1, 3)])
    on.log_graph(module, torch.zeros(1, 3))
    on.finalize("success")
    assert _load(on.log_dir).Tags()["graph"] is True


def test_a_bad_metric_is_a_value_error(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path)
    with pytest.raises(ValueError, match="not supported"):
        logger.log_metrics({"bad": "text"}, step=0)
    logger.finalize("failed")
    assert not Path(logger.log_dir, "hparams.yaml").exists()


@pytest.fixture
def rank_one() -> Iterator[None]:
    rank = rank_zero_only.rank
    rank_zero_only.rank = 1
    try:
        yield
    finally:
        rank_zero_only.rank = rank


def test_other_ranks_write_nothing(tmp_path: Path, rank_one: None) -> None:
    logger = TensorBoardLogger(tmp_path)
    assert type(logger.experiment).__name__ == "_DummyExperiment"
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"a": 1.0}, step=1)
    logger.save()
    logger.finalize("success")
    assert list(tmp_path.iterdir()) == []


def test_pickles_without_its_writer(tmp_path: Path) -> None:
    logger = TensorBoardLogger(tmp_path, flush_secs=1)
    logger.log_metrics({"a": 1.0}, step=0)
    copy = pickle.loads(pickle.dumps(logger))
    assert copy.log_dir == logger.log_dir
    assert copy._experiment is None
    logger.finalize("success")


#: Runs the example with tensorboard and tensorboardX unimportable, then reports which
#: of them were asked for and which got loaded.
_BLOCKED_RUN = """
import importlib.abc, json, runpy, sys
asked = []
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorboard", "tensorboardX"):
            asked.append(name)
            raise ModuleNotFoundError(f"blocked: {name}")
        return None
sys.meta_path.insert(0, Block())
sys.argv = [sys.argv[1], sys.argv[2]]
log_dir = runpy.run_path(sys.argv[0])["main"](sys.argv[1])
loaded = [m for m in sys.modules if m.split(".")[0] in ("tensorboard", "tensorboardX")]
print(json.dumps({"asked": asked, "loaded": loaded, "log_dir": log_dir}))
"""


@dataclass
class BlockedRun:
    process: subprocess.Popen[str]
    save_dir: Path


@pytest.fixture(scope="module", autouse=True)
def blocked_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockedRun]:
    """The example, started first: it runs (and imports Lightning) while the other tests do."""
    save_dir = tmp_path_factory.mktemp("blocked")
    example = ROOT / "examples" / "lightning_logger.py"
    process = subprocess.Popen(
        [sys.executable, "-c", _BLOCKED_RUN, str(example), str(save_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield BlockedRun(process, save_dir)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_example_runs_without_tensorboard_or_tensorboardx(blocked_run: BlockedRun) -> None:
    stdout, stderr = blocked_run.process.communicate(timeout=300)
    assert blocked_run.process.returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["loaded"] == []
    assert report["asked"] == []
    log_dir = report["log_dir"]
    assert log_dir == str(blocked_run.save_dir / "lightning_logs" / "version_0")
    tags = _load(log_dir).Tags()
    assert {"train_loss_step", "val_loss", "hp_metric", "epoch"} <= set(tags["scalars"])
    assert "_hparams_/session_start_info" in _hparams(log_dir)
    assert tags["graph"] is True
    assert Path(log_dir, "hparams.yaml").read_text() == "features: 3\nlr: 0.05\n"


def test_without_lightning_the_error_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['lightning'] = None\n"
        "try:\n"
        "    import lumiboard.lightning\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert 'pip install "lumiboard[lightning]"' in done.stdout, done.stdout + done.stderr
