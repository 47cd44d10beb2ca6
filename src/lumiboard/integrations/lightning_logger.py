"""Lightning's ``TensorBoardLogger``, writing through lumiboard's ``SummaryWriter``.

Lightning's own logger needs ``tensorboard`` or ``tensorboardX``; without them
``Trainer(logger=True)`` silently falls back to a CSV logger. This one writes the
same files with neither installed: ``<save_dir>/<name>/version_<N>[/<sub_dir>]``,
the same scalar tags and steps, ``hparams.yaml`` (Lightning's own writer), and the
hparams summaries Lightning writes into the run itself, with the placeholder
``hp_metric = -1`` at step 0 so the HParams dashboard has a metric.

It subclasses Lightning's ``TensorBoardLogger`` (not only its ``Logger`` base)
because Lightning treats that class specially: ``trainer.log_dir`` is the
version directory only for it (profilers and ``LightningCLI``'s ``config.yaml``
are written there). Its ``__init__`` is not called, since it refuses to run
without tensorboard; every method and property is defined here instead, so
nothing of Lightning's writer path is reached.

Where it differs from Lightning's logger, on purpose:

- ``bool`` hyperparameters are recorded as booleans (torch's ``hparams``
  records them as 1.0/0.0), and a tensor hyperparameter with more than one
  element is recorded as its text (torch records its first element).
- With a ``prefix``, the HParams metric is declared under the prefixed tag
  (``<prefix>-hp_metric``), the tag the scalars are written to; Lightning
  declares the bare name, so its HParams table shows no value.
- ``log_graph=True`` works without tensorboard (lumiboard's ``add_graph``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from argparse import Namespace
from collections.abc import Iterator, Mapping
from typing import Any

try:
    from lightning.fabric.loggers.logger import rank_zero_experiment
    from lightning.fabric.utilities.cloud_io import get_filesystem
    from lightning.fabric.utilities.logger import (
        _add_prefix,
        _convert_params,
        _flatten_dict,
        _sanitize_params,
    )
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.core import module as lightning_module
    from lightning.pytorch.core.saving import save_hparams_to_yaml
    from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
    from lightning.pytorch.utilities import rank_zero_only, rank_zero_warn
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "lumiboard.lightning needs PyTorch Lightning (the `lightning` package): "
        'pip install "lumiboard[lightning]"'
    ) from error

import torch  # after lightning, which needs it: without lightning, fail fast

from lumiboard.writer.summary_writer import SummaryWriter

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(LightningTensorBoardLogger):
    r"""Log a Lightning run in TensorBoard format, without tensorboard or tensorboardX.

    A drop-in for ``lightning.pytorch.loggers.TensorBoardLogger``: same
    arguments, same directories (``<save_dir>/<name>/version_<N>``), tags, steps
    and ``hparams.yaml``; ``experiment`` is a :class:`lumiboard.SummaryWriter`.

    Args:
        save_dir: Directory (or fsspec URL) that holds the experiments.
        name: Experiment name, a sub-directory of ``save_dir``; ``""`` or None for none.
        version: ``version_<version>`` for an int, the directory name itself for a
            str; by default the next free ``version_<N>``.
        log_graph: Log the model's graph (needs ``example_input_array``).
        default_hp_metric: With hyperparameters logged without metrics, log the
            placeholder ``hp_metric = -1`` so the HParams dashboard has a metric.
        prefix: Put before every metric name, joined with ``-``.
        sub_dir: Write into ``<version dir>/<sub_dir>``.
        \**kwargs: Passed to :class:`lumiboard.SummaryWriter` (``max_queue``,
            ``flush_secs``, ``filename_suffix``, ...).

    Example::

        from lightning import Trainer
        from lumiboard.lightning import TensorBoardLogger

        trainer = Trainer(logger=TensorBoardLogger("logs", name="my_model"))
    """

    NAME_HPARAMS_FILE = "hparams.yaml"
    LOGGER_JOIN_CHAR = "-"

    def __init__(
        self,
        save_dir: str | os.PathLike[str],
        name: str | None = "lightning_logs",
        version: int | str | None = None,
        log_graph: bool = False,
        default_hp_metric: bool = True,
        prefix: str = "",
        sub_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        # Not LightningTensorBoardLogger.__init__: it raises without tensorboard.
        self._root_dir = os.fspath(save_dir)
        self._name = name or ""
        self._version = version
        self._sub_dir = None if sub_dir is None else os.fspath(sub_dir)
        self._log_graph = log_graph  # type: ignore[assignment]  # Lightning's is a flag too
        self._default_hp_metric = default_hp_metric
        self._prefix = prefix
        self._fs = get_filesystem(self._root_dir)
        self._experiment: SummaryWriter | None = None  # type: ignore[assignment]
        self._kwargs = kwargs
        self.hparams: dict[str, Any] | Namespace = {}

    # ---- where ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """The experiment name (a sub-directory of ``save_dir``)."""
        return self._name

    @property
    def version(self) -> int | str:
        """The version: given, or the next free ``version_<N>`` number."""
        if self._version is None:
            self._version = self._get_next_version()
        return self._version

    @property
    def save_dir(self) -> str:
        """The directory given as ``save_dir``."""
        return self._root_dir

    @property
    def root_dir(self) -> str:
        """``<save_dir>/<name>``: the parent of the version directories."""
        return os.path.join(self._root_dir, self.name)

    @property
    def log_dir(self) -> str:
        """``<save_dir>/<name>/version_<N>[/<sub_dir>]``: the run's event files."""
        version = self.version if isinstance(self.version, str) else f"version_{self.version}"
        log_dir = os.path.join(self.root_dir, version)
        if isinstance(self.sub_dir, str):
            log_dir = os.path.join(log_dir, self.sub_dir)
        return os.path.expanduser(os.path.expandvars(log_dir))

    @property
    def sub_dir(self) -> str | None:
        """The sub-directory of the version directory, if any."""
        return self._sub_dir

    @property
    @rank_zero_experiment
    def experiment(self) -> SummaryWriter:
        """The run's :class:`lumiboard.SummaryWriter` (a no-op object on ranks > 0).

        Example: ``self.logger.experiment.add_histogram("w", self.layer.weight, step)``
        """
        if self._experiment is None:
            assert getattr(rank_zero_only, "rank", 0) == 0, "experiment made on a rank > 0"
            if self.root_dir:
                self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = SummaryWriter(log_dir=self.log_dir, **self._kwargs)
        return self._experiment

    # ---- what -----------------------------------------------------------------

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Write each metric as a scalar at ``step``; a dict value goes to ``add_scalars``."""
        metrics = _add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR)
        for key, given in metrics.items():
            value = given.item() if isinstance(given, torch.Tensor) else given
            if isinstance(value, dict):
                self.experiment.add_scalars(key, value, step)
                continue
            try:
                self.experiment.add_scalar(key, value, step)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"\n you tried to log {value} which is currently not supported. "
                    "Try a dict or a scalar/tensor."
                ) from error

    @rank_zero_only
    def log_hyperparams(
        self,
        params: dict[str, Any] | Namespace,
        metrics: Any = None,
        step: int | None = None,
    ) -> None:
        """Keep ``params`` for ``hparams.yaml`` and record them for the HParams dashboard.

        ``metrics`` (a dict, or one number for ``hp_metric``) are logged as scalars at
        ``step`` and declared as the dashboard's metrics; without them the placeholder
        ``hp_metric = -1`` is (unless ``default_hp_metric=False``, when nothing is recorded).
        """
        params = _convert_params(params)
        omegaconf = sys.modules.get("omegaconf")  # a Container means it is imported
        if omegaconf is not None and isinstance(params, omegaconf.Container):
            self.hparams = omegaconf.OmegaConf.merge(self.hparams, params)
        else:
            self.hparams.update(params)

        flat = _sanitize_params(_flatten_dict(params))
        if metrics is None:
            metrics = {"hp_metric": -1} if self._default_hp_metric else None
        elif not isinstance(metrics, dict):
            metrics = {"hp_metric": metrics}
        if not metrics:
            return
        self.log_metrics(metrics, step)
        join = f"{self._prefix}{self.LOGGER_JOIN_CHAR}" if self._prefix else ""
        self.experiment.add_hparams(
            {key: _hparam_value(value) for key, value in flat.items()},
            {join + key: None for key in metrics},  # declared: log_metrics wrote them
            global_step=step,
            separate_run=False,
        )

    @rank_zero_only
    def log_graph(self, model: torch.nn.Module, input_array: Any = None) -> None:
        """With ``log_graph=True``, trace ``model`` on ``input_array`` (default: its
        ``example_input_array``) and write the graph for the Graphs dashboard."""
        if not self._log_graph:
            return
        if input_array is None:
            input_array = getattr(model, "example_input_array", None)
        if input_array is None:
            rank_zero_warn(
                "Could not log computational graph to TensorBoard: The "
                "`model.example_input_array` attribute is not set or `input_array` was not given."
            )
            return
        if not isinstance(input_array, (torch.Tensor, tuple)):
            rank_zero_warn(
                "Could not log computational graph to TensorBoard: The `input_array` or "
                f"`model.example_input_array` has type {type(input_array)} which can't be traced "
                "by TensorBoard. Make the input array a tuple representing the positional "
                "arguments to the model's `forward()` implementation."
            )
            return
        before = getattr(model, "_on_before_batch_transfer", None)
        transfer = getattr(model, "_apply_batch_transfer_handler", None)
        if callable(before) and callable(transfer):
            # A LightningModule: the example goes through its batch hooks and to its device.
            input_array = transfer(before(input_array))
        with _jit_is_scripting():
            self.experiment.add_graph(model, input_array)

    # ---- lifecycle --------------------------------------------------------------

    @rank_zero_only
    def save(self) -> None:
        """Flush the event files; write ``hparams.yaml`` once the version directory exists."""
        self.experiment.flush()
        hparams_file = os.path.join(self.log_dir, self.NAME_HPARAMS_FILE)
        if self._fs.isdir(self.log_dir) and not self._fs.isfile(hparams_file):
            save_hparams_to_yaml(hparams_file, self.hparams)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Close the writer; after a successful run, also :meth:`save`."""
        if self._experiment is not None:
            self._experiment.flush()
            self._experiment.close()
        if status == "success":
            self.save()

    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        """Nothing to do after a checkpoint."""

    def _get_next_version(self) -> int:
        try:
            listing = self._fs.listdir(self.root_dir)
        except OSError:
            return 0
        versions = []
        for entry in listing:
            base = os.path.basename(str(entry["name"]).rstrip("/"))
            number = base.split("_")[1] if base.startswith("version_") else ""
            if number.isdigit() and self._fs.isdir(entry["name"]):
                versions.append(int(number))
        return max(versions) + 1 if versions else 0

    def __getstate__(self) -> dict[str, Any]:
        # The writer (a thread and open files) stays behind; a copy opens its own.
        state = self.__dict__.copy()
        state["_experiment"] = None
        return state


def _hparam_value(value: Any) -> Any:
    # After Lightning's sanitizing a value is a bool, int, float, str or tensor.
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else str(value)
    return value


@contextlib.contextmanager
def _jit_is_scripting() -> Iterator[None]:
    # Tracing a LightningModule outside the fit loop touches `.trainer`, which
    # raises unless Lightning's scripting flag is set (pytorch/pytorch#67146).
    scripting = getattr(lightning_module, "_jit_is_scripting", None)
    if scripting is None:  # pragma: no cover - older or newer Lightning
        yield
        return
    with scripting():
        yield
