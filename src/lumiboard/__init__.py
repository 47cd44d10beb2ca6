"""lumiboard: training visualization compatible with TensorBoard's files.

Writing::

    from lumiboard import SummaryWriter          # PyTorch-style
    from lumiboard import summary, hparams       # TF2-style and the hparams API
    lumiboard.watch(model, writer)               # gradients, weights, activations (torch, Keras)
    SummaryWriter("runs/x", system_metrics=True) # CPU, memory, I/O, GPUs under system/

Reading::

    exp = lumiboard.read("runs")                 # an Experiment: pandas tables
    exp.scalars()

Importing lumiboard loads no web framework, no torch, and no pandas or pyarrow
(:func:`read` imports them when called).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lumiboard import hparams, summary
from lumiboard.alerts import alert
from lumiboard.watching import unwatch, watch
from lumiboard.writer.event_file import EventWriteError
from lumiboard.writer.summary_writer import SummaryWriter
from lumiboard.writer.system_metrics import monitor

if TYPE_CHECKING:
    from lumiboard.experiment import Experiment, Samples
    from lumiboard.reader.discover import Logdir

__version__ = "0.1.0"

__all__ = [
    "EventWriteError",
    "SummaryWriter",
    "__version__",
    "alert",
    "hparams",
    "monitor",
    "read",
    "summary",
    "unwatch",
    "watch",
]


def read(
    logdir_or_spec: Logdir,
    *,
    cache: bool | str | os.PathLike[str] = True,
    samples_per_plugin: Samples | None = None,
) -> Experiment:
    """Read a log directory into an :class:`~lumiboard.experiment.Experiment` (pandas tables).

    ``logdir_or_spec`` is a path, an fsspec URL (``s3://...``) or TensorBoard's
    ``name:path,name2:path2`` spec. Every point is read now (every value of
    every plugin, unless ``samples_per_plugin`` caps one, e.g.
    ``{"images": 10}``); ``exp.reload()`` reads what was written since.
    ``cache``: the persistent cache's place (True: ``~/.cache/lumiboard``; False: none),
    which makes reading an unchanged log directory again near-instant.

    Example::

        import lumiboard

        exp = lumiboard.read("runs")
        exp.runs()                               # ['lr_0.01', 'lr_0.1']
        exp.scalars(tags="^loss$")               # run, tag, step, wall_time, value
        exp.scalars(pivot=True)                  # one column per tag, by (run, step)
        exp.hparams()                            # one row per trial, final metrics
        exp.export("out", format="parquet")      # scalars.parquet, histograms.parquet ...
    """
    from lumiboard import experiment

    return experiment.read(logdir_or_spec, cache=cache, samples_per_plugin=samples_per_plugin)


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext lumiboard``: adds the ``%lumiboard`` magic (see :mod:`lumiboard.notebook`)."""
    from lumiboard import notebook

    notebook.load_ipython_extension(ipython)
