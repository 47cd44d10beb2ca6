"""``lumiboard.transformers.TensorBoardCallback`` against transformers' own callback.

One real ``Trainer`` run (a tiny randomly initialised BERT, 4 steps, evaluation every
2 steps and once more after training) with each callback, same seed: our callback in a
subprocess where tensorboard, tensorboardX and tensorflow cannot be imported,
transformers' own here. Both logdirs are read with tensorboard's own
``EventAccumulator`` and must hold the same runs, tags, plugins, steps and values
(timings aside) and the same ``args`` and ``model_config`` texts; ours adds the
hparams session, read back through lumiboard's HParams data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.sessions import Sweep, read_sweep
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider

HERE = Path(__file__).resolve().parent
#: The texts, scalars and hparams tags a run holds (tensorboard's names).
TEXT_TAGS = {"args/text_summary", "model_config/text_summary"}
HPARAMS_TAGS = {
    "_hparams_/session_start_info",
    "_hparams_/experiment",
    "_hparams_/session_end_info",
}
#: Scalars whose values are timings: only their steps are compared.
TIMINGS = re.compile(r"(runtime|_per_second)$")


def tiny_model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=8,
    )
    return BertForSequenceClassification(config)


def train(output_dir: str, callback: TrainerCallback) -> None:
    """4 steps of 4 sequences, eval at steps 2 and 4, then ``evaluate()`` after training."""
    model = tiny_model()
    generator = torch.Generator().manual_seed(0)
    data = [
        {"input_ids": torch.randint(0, 50, (6,), generator=generator), "labels": index % 2}
        for index in range(16)
    ]
    args = TrainingArguments(
        output_dir=output_dir,
        max_steps=4,
        per_device_train_batch_size=4,
        logging_steps=1,
        eval_strategy="steps",
        eval_steps=2,
        report_to=[],
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        eval_dataset=data[:8],
        callbacks=[callback],
    )
    trainer.train()
    trainer.evaluate()


# Runs in a fresh interpreter: the frameworks' TensorBoard packages cannot be imported.
TRAIN_WITHOUT_TENSORBOARD = """
import sys
BLOCKED = ("tensorboard", "tensorboardX", "tensorflow")
for name in BLOCKED:
    sys.modules[name] = None  # import raises; importlib.util.find_spec says None
sys.path.insert(0, sys.argv[2])
from transformers.integrations import TensorBoardCallback as TheirCallback
try:
    TheirCallback()
except RuntimeError:
    pass
else:
    raise SystemExit("transformers still finds tensorboard")
from lumiboard.transformers import TensorBoardCallback
from test_transformers_callback import train
train(sys.argv[1], TensorBoardCallback())
loaded = [n for n, m in sys.modules.items() if m is not None and n.split(".")[0] in BLOCKED]
if loaded:
    raise SystemExit(f"imported: {loaded}")
print("trained without tensorboard")
"""


@dataclass(frozen=True)
class Run:
    """A run directory as tensorboard's ``EventAccumulator`` loads it."""

    path: Path
    accumulator: Any

    def tags(self, plugin: str) -> set[str]:
        try:
            return set(self.accumulator.PluginTagToContent(plugin))
        except KeyError:  # no tag of that plugin
            return set()

    def series(self, tag: str) -> list[tuple[int, Any]]:
        from tensorboard.util import tensor_util

        return [
            (event.step, tensor_util.make_ndarray(event.tensor_proto))
            for event in self.accumulator.Tensors(tag)
        ]

    def text(self, tag: str) -> str:
        ((_, value),) = self.series(tag)
        return str(value.item().decode())


def load_run_dir(path: Path) -> Run:
    # Imported here: the subprocess that trains without tensorboard imports this module.
    from tensorboard.backend.event_processing import plugin_event_accumulator

    accumulator = plugin_event_accumulator.EventAccumulator(str(path))
    accumulator.Reload()
    return Run(path, accumulator)


def load_run(output_dir: Path) -> Run:
    (path,) = (output_dir / "runs").iterdir()
    return load_run_dir(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    """(ours, transformers') after the same training."""
    from transformers.integrations import TensorBoardCallback as TheirCallback

    root = tmp_path_factory.mktemp("trainer")
    env = {key: value for key, value in os.environ.items() if key != "TENSORBOARD_LOGGING_DIR"}
    # Both trainings at once: each mostly waits on importing torch and transformers.
    with subprocess.Popen(
        [sys.executable, "-c", TRAIN_WITHOUT_TENSORBOARD, str(root / "ours"), str(HERE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as ours:
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
            train(str(root / "theirs"), TheirCallback())
        stdout, stderr = ours.communicate(timeout=300)
    assert ours.returncode == 0, stderr[-3000:]
    assert "trained without tensorboard" in stdout
    return load_run(root / "ours"), load_run(root / "theirs")


def test_same_run_directory_and_files(runs: tuple[Run, Run]) -> None:
    ours, theirs = runs
    # <output_dir>/runs/<Mon DD_HH-MM-SS>_<host>; evaluate() after training: a second file.
    pattern = rf"[A-Z][a-z]{{2}}\d{{2}}_\d{{2}}-\d{{2}}-\d{{2}}_{re.escape(socket.gethostname())}"
    for run in runs:
        assert re.fullmatch(pattern, run.path.name), run.path
    assert len(list(ours.path.glob("events.out.tfevents.*"))) == 2
    assert len(list(theirs.path.glob("events.out.tfevents.*"))) == 2


def test_same_scalars_as_transformers(runs: tuple[Run, Run]) -> None:
    ours, theirs = runs
    tags = theirs.tags("scalars")
    assert {"train/loss", "train/grad_norm", "train/learning_rate", "train/epoch"} <= tags
    assert {"eval/loss", "eval/runtime", "train/train_loss", "train/total_flos"} <= tags
    assert ours.tags("scalars") == tags
    for tag in sorted(tags):
        mine, reference = ours.series(tag), theirs.series(tag)
        assert [step for step, _ in mine] == [step for step, _ in reference], tag
        assert all(value.dtype == np.float32 and value.shape == () for _, value in mine), tag
        if not TIMINGS.search(tag):
            np.testing.assert_allclose(
                [float(value) for _, value in mine],
                [float(value) for _, value in reference],
                rtol=1e-4,
                err_msg=tag,
            )
    # Evaluations at steps 2 and 4 during training, and evaluate() after it (step 4).
    assert [step for step, _ in ours.series("eval/loss")] == [2, 4, 4]
    assert [step for step, _ in ours.series("train/loss")] == [1, 2, 3, 4]


def test_same_texts_as_transformers(runs: tuple[Run, Run]) -> None:
    ours, theirs = runs
    assert ours.tags("text") == theirs.tags("text") == TEXT_TAGS
    assert ours.text("model_config/text_summary") == theirs.text("model_config/text_summary")
    mine = json.loads(ours.text("args/text_summary"))
    reference = json.loads(theirs.text("args/text_summary"))
    assert Path(mine.pop("output_dir")).name == "ours"
    assert Path(reference.pop("output_dir")).name == "theirs"
    assert mine == reference
    assert [step for step, _ in ours.series("args/text_summary")] == [0]


def test_nothing_else_but_the_hparams_session(runs: tuple[Run, Run]) -> None:
    from tensorboard.plugins.hparams import metadata

    ours, theirs = runs
    assert theirs.tags("hparams") == set()
    assert ours.tags("hparams") == HPARAMS_TAGS
    every = ours.accumulator.Tags()["tensors"]
    assert set(every) == theirs.tags("scalars") | TEXT_TAGS | HPARAMS_TAGS
    # tensorboard's own hparams parser reads our session.
    content = ours.accumulator.PluginTagToContent("hparams")
    start = metadata.parse_session_start_info_plugin_data(content["_hparams_/session_start_info"])
    assert start.hparams["learning_rate"].number_value == pytest.approx(5e-5)
    experiment = metadata.parse_experiment_plugin_data(content["_hparams_/experiment"])
    assert [info.name.tag for info in experiment.metric_infos] == [
        "eval/loss",
        "train/loss",
        "train/train_loss",
    ]


def sweep_of(logdir: Path) -> Sweep:
    reloader = Reloader(str(logdir))
    reloader.reload()
    return read_sweep(Provider(reloader.runs))


def test_hparams_session_in_lumiboard(runs: tuple[Run, Run]) -> None:
    ours, _ = runs
    sweep = sweep_of(ours.path.parent)
    assert sweep.declared
    (session,) = sweep.sessions
    assert session.run == ours.path.name
    assert session.status == hparams_pb2.STATUS_SUCCESS
    expected = {
        "learning_rate": 5e-5,
        "max_steps": 4,
        "per_device_train_batch_size": 4,
        "train_batch_size": 4,
        "eval_strategy": "steps",
        "lr_scheduler_type": "linear",
        "use_cpu": True,
        "save_strategy": "no",
        "seed": 42,
        "model/model_type": "bert",
        "model/hidden_size": 8,
        "model/num_hidden_layers": 1,
        "model/vocab_size": 50,
        "model/num_parameters": tiny_model().num_parameters(),
    }
    assert {name: session.hparams.get(name) for name in expected} == pytest.approx(expected)
    # Unset (None), nested (lists, dicts) and masked token fields are left out.
    for name in (
        "run_name",
        "eval_accumulation_steps",
        "report_to",
        "accelerator_config",
        "hub_token",
    ):
        assert name not in session.hparams
    assert all(isinstance(value, (bool, float, str)) for value in session.hparams.values())
    types = {info.name: info.type for info in sweep.experiment.hparam_infos}
    assert types["use_cpu"] == hparams_pb2.DATA_TYPE_BOOL
    assert types["eval_strategy"] == hparams_pb2.DATA_TYPE_STRING
    assert types["learning_rate"] == hparams_pb2.DATA_TYPE_FLOAT64
    assert sweep.metric_keys == [("", "eval/loss"), ("", "train/loss"), ("", "train/train_loss")]
    # A metric is its tag's last value: here the evaluate() after training.
    step, value = ours.series("eval/loss")[-1]
    assert session.metrics[("", "eval/loss")].step == step == 4
    assert session.metrics[("", "eval/loss")].value == pytest.approx(float(value))


# ---- the callback's cases without a Trainer -------------------------------------------


@pytest.fixture(scope="module")
def args(tmp_path_factory: pytest.TempPathFactory) -> TrainingArguments:
    out = tmp_path_factory.mktemp("args")
    return TrainingArguments(output_dir=str(out), report_to=[], use_cpu=True)


def test_rewrite_logs_as_transformers() -> None:
    from transformers.integrations.integration_utils import rewrite_logs as theirs

    from lumiboard.transformers import rewrite_logs

    logs = {"loss": 1.0, "eval_loss": 2.0, "test_f1": 0.5, "evaluation": 1, "test": 2, "eval_": 3}
    assert rewrite_logs(logs) == theirs(logs)


def test_only_the_main_process_writes(
    args: TrainingArguments, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumiboard.transformers import TensorBoardCallback

    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    callback = TensorBoardCallback()
    state, control = TrainerState(is_world_process_zero=False), TrainerControl()
    callback.on_train_begin(args, state, control, model=tiny_model())
    callback.on_log(args, state, control, logs={"loss": 1.0})
    callback.on_train_end(args, state, control)
    assert callback.tb_writer is None
    assert not (tmp_path / "tb").exists()


def test_strings_are_text_other_values_dropped_once(
    args: TrainingArguments,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lumiboard.transformers import TensorBoardCallback

    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    callback = TensorBoardCallback(hparams=False)
    state, control = TrainerState(global_step=3), TrainerControl()
    callback.on_train_begin(args, state, control)
    logs = {"note": "warm-up done", "shape": [1, 2], "eval_accuracy": 0.75, "flag": True}
    with caplog.at_level(logging.WARNING):
        callback.on_log(args, state, control, logs=logs)
        callback.on_log(args, state, control, logs=logs)
    callback.on_train_end(args, state, control)
    assert len([r for r in caplog.records if "train/shape" in r.getMessage()]) == 1
    run = load_run_dir(tmp_path / "tb")
    assert run.tags("text") == {"args/text_summary", "train/note/text_summary"}
    assert run.tags("scalars") == {"eval/accuracy", "train/flag"}
    assert run.tags("hparams") == set()  # hparams=False; no model: no model_config
    assert [step for step, _ in run.series("train/note/text_summary")] == [3, 3]
    assert [float(value) for _, value in run.series("train/flag")] == [1.0, 1.0]


def test_hyperparameter_search_trial_directory(
    args: TrainingArguments, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lumiboard.transformers import TensorBoardCallback

    monkeypatch.delenv("TENSORBOARD_LOGGING_DIR", raising=False)
    callback = TensorBoardCallback()
    state = TrainerState(is_hyper_param_search=True, trial_name="trial-7")
    callback.on_train_begin(args, state, TrainerControl())
    callback.on_train_end(args, state, TrainerControl())
    (trial,) = Path(args.output_dir, "runs").glob("*/trial-7")
    sweep = sweep_of(trial.parent)
    (session,) = sweep.sessions
    assert session.group == "trial-7"
    assert session.status == hparams_pb2.STATUS_SUCCESS
    # No evaluation yet: eval/loss is declared for a later evaluate(), without a value.
    assert sweep.metric_keys == [("", "eval/loss")]
    assert session.metrics == {}


def test_import_hint_and_import_cost() -> None:
    script = textwrap.dedent(
        """
        import sys
        import lumiboard
        assert "transformers" not in sys.modules, "import lumiboard imported transformers"
        sys.modules["transformers"] = None
        try:
            import lumiboard.transformers
        except ImportError as error:
            print(error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert 'pip install "lumiboard[transformers]"' in done.stdout
