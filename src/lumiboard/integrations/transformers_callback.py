"""Hugging Face ``Trainer`` logs as TensorBoard event files, without tensorboard.

``TensorBoardCallback`` writes what ``transformers.integrations.TensorBoardCallback``
writes, to the same place, with the same tags and steps:

- the run directory: ``$TENSORBOARD_LOGGING_DIR`` if set, else ``args.logging_dir``
  (transformers 4), else ``<output_dir>/runs/<Mon DD_HH-MM-SS>_<hostname>``; in a
  hyperparameter search, ``<that default>/<trial name>`` per trial;
- at train begin: the text ``args`` (``args.to_json_string()``) and ``model_config``
  (``model.config.to_json_string()``), shown as ``args/text_summary`` and
  ``model_config/text_summary``;
- at each log: the keys renamed by ``rewrite_logs`` (``eval_*`` -> ``eval/*``,
  ``test_*`` -> ``test/*``, others ``train/*``); ints, floats and bools as scalars and
  strings as text at ``state.global_step``, other values dropped with a warning;
  then a flush;
- only on the main process (``state.is_world_process_zero``); the writer is closed
  at train end (a later ``trainer.evaluate()`` opens a new file in the same run).

On top of that, unless ``hparams=False``, the run is an HParams session, so runs
compare in the HParams dashboard: at train begin the hyperparameters (see
:func:`training_hparams`), and at train end the experiment (those hparams, and as
metrics the ``eval/*`` and ``test/*`` scalars logged so far, ``eval/loss`` always,
``train/loss`` and ``train/train_loss``) and the session's end. transformers 4's own
callback wrote ``args.to_sanitized_dict()`` with torch's ``add_hparams`` into a
separate timestamped run without metrics; here they share the run with the curves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from lumiboard import hparams as hp
from lumiboard.plugins.hparams import summary as hparams_summary
from lumiboard.writer.summary_writer import SummaryWriter, default_logdir

try:
    from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'lumiboard.transformers needs transformers: pip install "lumiboard[transformers]"'
    ) from error

__all__ = ["TensorBoardCallback", "metric_tags", "rewrite_logs", "training_hparams"]

logger = logging.getLogger(__name__)

HParamValue = bool | int | float | str

#: Model facts kept as hparams (``model/<name>``) when the config has them as numbers
#: or strings; ``getattr`` follows a config's ``attribute_map`` (GPT-2's ``n_embd``).
MODEL_FACTS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
)

#: Throughput figures transformers logs with every evaluation: not model metrics.
_THROUGHPUT_SUFFIXES = ("runtime", "_per_second")


def rewrite_logs(logs: Mapping[str, Any]) -> dict[str, Any]:
    """Trainer log keys as TensorBoard tags, as transformers' ``rewrite_logs``."""
    tags: dict[str, Any] = {}
    for key, value in logs.items():
        if key.startswith("eval_"):
            tags["eval/" + key[len("eval_") :]] = value
        elif key.startswith("test_"):
            tags["test/" + key[len("test_") :]] = value
        else:
            tags["train/" + key] = value
    return tags


def training_hparams(args: TrainingArguments, model: Any = None) -> dict[str, HParamValue]:
    """The hyperparameters of a run: what the HParams dashboard can compare.

    Kept: every ``TrainingArguments`` field (``args.to_dict()``: enums as their values)
    whose value is a bool, int, float or str, plus ``train_batch_size`` and
    ``eval_batch_size``. Left out: ``None`` (unset), lists and dicts (``report_to``,
    ``accelerator_config``: the ``args`` text has them) and the ``*_token`` fields
    (transformers masks them). From the model: ``model/num_parameters`` and the
    :data:`MODEL_FACTS` of its config.
    """
    fields: dict[str, Any] = dict(args.to_dict())  # type: ignore[no-untyped-call]
    for name in ("train_batch_size", "eval_batch_size"):
        fields[name] = getattr(args, name, None)
    values: dict[str, HParamValue] = {
        name: value
        for name, value in fields.items()
        if isinstance(value, (bool, int, float, str)) and not name.endswith("_token")
    }
    config = getattr(model, "config", None)
    if config is not None:
        for name in MODEL_FACTS:
            fact = getattr(config, name, None)
            if isinstance(fact, (bool, int, float, str)):
                values[f"model/{name}"] = fact
    count = getattr(model, "num_parameters", None)
    if callable(count):
        values["model/num_parameters"] = int(count())
    return values


def metric_tags(logged: list[str]) -> list[str]:
    """The HParams metrics of a run, from the scalar tags it logged (in order):
    evaluation and test results, ``eval/loss`` even before a final evaluation,
    and the training loss."""
    tags = [
        tag
        for tag in logged
        if tag.startswith(("eval/", "test/")) and not tag.endswith(_THROUGHPUT_SUFFIXES)
    ]
    for tag in ("eval/loss", "train/loss", "train/train_loss"):
        if tag not in tags and (tag == "eval/loss" or tag in logged):
            tags.append(tag)
    return tags


class TensorBoardCallback(TrainerCallback):
    """Log a ``Trainer`` run for TensorBoard and lumiboard, with neither tensorboard
    nor tensorboardX installed.

    Args:
        tb_writer: The writer to use (a :class:`lumiboard.SummaryWriter`); by default
            one is opened at train begin (see the module's doc for where).
        hparams: Also record the run as an HParams session (hyperparameters at train
            begin; experiment, metrics and end at train end).

    Example::

        from transformers import Trainer
        from lumiboard.transformers import TensorBoardCallback

        trainer = Trainer(model, args, train_dataset=train, eval_dataset=dev,
                          callbacks=[TensorBoardCallback()])
        trainer.train()   # then: lumiboard --logdir <output_dir>/runs
    """

    def __init__(self, tb_writer: SummaryWriter | None = None, *, hparams: bool = True) -> None:
        self.tb_writer = tb_writer
        self.hparams = hparams
        self.logging_dir: str | None = os.getenv("TENSORBOARD_LOGGING_DIR", None)
        if self.logging_dir is not None:
            self.logging_dir = os.path.expanduser(self.logging_dir)
        # The session being recorded: its hparams, and the scalar tags logged since.
        self._session: dict[str, HParamValue] | None = None
        self._logged: list[str] = []
        self._warned: set[str] = set()

    def _init_summary_writer(self, args: TrainingArguments) -> None:
        self.tb_writer = SummaryWriter(log_dir=self.logging_dir)

    def _default_logging_dir(self, args: TrainingArguments) -> str:
        # transformers 4 had args.logging_dir (default <output_dir>/runs/<date>_<host>).
        logging_dir = getattr(args, "logging_dir", None)
        return logging_dir or os.path.join(args.output_dir or "", default_logdir())

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero:
            return
        if state.is_hyper_param_search and state.trial_name is not None:
            self.logging_dir = os.path.join(self._default_logging_dir(args), state.trial_name)
        if self.logging_dir is None:
            self.logging_dir = self._default_logging_dir(args)
        if self.tb_writer is None:
            self._init_summary_writer(args)
        if self.tb_writer is None:
            return
        self.tb_writer.add_text("args", args.to_json_string())  # type: ignore[no-untyped-call]
        model = kwargs.get("model")
        config = getattr(model, "config", None)
        if config is not None:
            self.tb_writer.add_text("model_config", config.to_json_string())
        self._logged = []
        if self.hparams and hasattr(self.tb_writer, "write_values"):
            self._session = training_hparams(args, model)
            trial = state.trial_name if state.is_hyper_param_search else None
            hp.hparams(dict(self._session.items()), trial_id=trial, writer=self.tb_writer)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero:
            return
        if self.tb_writer is None:
            self._init_summary_writer(args)
        if self.tb_writer is None:
            return
        for tag, value in rewrite_logs(logs or {}).items():
            if isinstance(value, (int, float)):
                self.tb_writer.add_scalar(tag, value, state.global_step)
                if tag not in self._logged:
                    self._logged.append(tag)
            elif isinstance(value, str):
                self.tb_writer.add_text(tag, value, state.global_step)
            elif tag not in self._warned:
                # transformers warns at every log; once per tag is enough to be seen.
                self._warned.add(tag)
                logger.warning(
                    "Trainer logged %r of type %s for %r: not a number or a string, dropped",
                    value,
                    type(value).__name__,
                    tag,
                )
        self.tb_writer.flush()

    def on_train_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: Any,
    ) -> None:
        if not self.tb_writer:
            return
        if self._session is not None:
            self._end_session(self.tb_writer)
        self.tb_writer.close()
        self.tb_writer = None

    def _end_session(self, writer: SummaryWriter) -> None:
        # The experiment is written last: only now are the metric tags known (and
        # TensorBoard keeps the first experiment a run declares). Each hparam has its
        # type and no domain: one run cannot know the values of the others.
        session, self._session = self._session or {}, None
        infos, metrics = hparams_summary.torch_experiment_infos(session, metric_tags(self._logged))
        for metric in metrics:
            training = metric.name.tag.startswith("train/")
            metric.dataset_type = hp.Metric.TRAINING if training else hp.Metric.VALIDATION
        writer.write_values([hparams_summary.experiment_value(infos, metrics)], 0)
        hp.session_end("success", writer=writer)
