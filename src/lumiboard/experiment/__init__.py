"""Reading a log directory from Python, without the server: :func:`read`.

Example::

    import lumiboard

    exp = lumiboard.read("runs")                      # or "train:/a,eval:/b", s3://...
    exp.runs()                                        # ['lr_0.01', 'lr_0.1', ...]
    df = exp.scalars(tags="^loss")                    # run, tag, step, wall_time, value
    wide = exp.scalars(runs=["lr_0.1"], pivot=True)   # one column per tag, by (run, step)
    exp.hparams()                                     # one row per trial, final metrics
    exp.export("out")                                 # scalars.parquet, histograms.parquet ...

Runs and tags are selected everywhere the same way: ``None`` for all, a
regular expression (``re.search``: ``"loss"`` matches ``"loss/train"``), or a
list of exact names (a name that does not exist raises ``KeyError``).
Tables are long, sorted by run, tag and step, with ``run`` and ``tag`` as
pandas categoricals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from lumiboard.experiment import export as exporting
from lumiboard.experiment.media import AudioRef, ImageRef, MediaRef, media_frame
from lumiboard.experiment.selection import Selector, select
from lumiboard.experiment.sessions import hparams_frame
from lumiboard.experiment.tables import (
    histogram_frame,
    pivot_scalars,
    scalar_frame,
    series_pairs,
    text_frame,
)
from lumiboard.plugins.base import PLUGIN_NAMES, DataClass
from lumiboard.reader.discover import Logdir
from lumiboard.reader.reload import Reloader, parse_samples
from lumiboard.store.provider import Provider

if TYPE_CHECKING:
    from lumiboard.integrations.mlflow_export import MlflowExport

__all__ = ["AudioRef", "Experiment", "ImageRef", "MediaRef", "read"]

#: ``tags(kind=...)`` values, TensorBoard's data classes.
KINDS = {
    "scalar": DataClass.SCALAR,
    "tensor": DataClass.TENSOR,
    "blob_sequence": DataClass.BLOB_SEQUENCE,
}

#: ``--samples_per_plugin`` as a mapping or TensorBoard's ``name=n,name2=all`` string.
Samples = Mapping[str, int | str | None] | str


def read(
    logdir_or_spec: Logdir,
    *,
    cache: bool | str | os.PathLike[str] = True,
    samples_per_plugin: Samples | None = None,
) -> Experiment:
    """Load a log directory (or ``name:path,...`` spec, or fsspec URL) and return it.

    Everything is read once, now; :meth:`Experiment.reload` reads what was
    written since. Unlike the server, every value of every plugin is kept
    (scalars always are); ``samples_per_plugin`` caps a plugin's values per
    series as TensorBoard's ``--samples_per_plugin`` does, e.g.
    ``{"images": 10}`` or ``"images=10,histograms=all"`` (``0`` or ``"all"``:
    keep every value).

    ``cache`` is the persistent cache (:mod:`lumiboard.store.cache`): True
    keeps it in the default place (``~/.cache/lumiboard``), a path puts it
    there, False disables it. With it, reading an unchanged log directory
    again (a new process, or another ``read``) maps the stored columns
    instead of parsing the event files.

    Example::

        exp = lumiboard.read("runs")
        exp.scalars(tags="loss").groupby("run", observed=True)["value"].min()
    """
    cache_dir: str | os.PathLike[str] | None = None
    if cache is True:
        from lumiboard.store.cache import default_dir

        cache_dir = default_dir()
    elif cache is not False:
        cache_dir = cache
    samples = _parse_samples(samples_per_plugin)
    return Experiment(Reloader(logdir_or_spec, samples=samples, cache_dir=cache_dir))


def _parse_samples(samples: Samples | None) -> dict[str, int | None]:
    # Unlike the server, read() keeps every value of plugins not named.
    sizes: dict[str, int | None] = dict.fromkeys(PLUGIN_NAMES)
    if samples is not None:
        sizes.update(parse_samples(samples))
    return sizes


class Experiment:
    """The runs of one or many log directories, read into memory. See :func:`read`."""

    def __init__(self, reloader: Reloader) -> None:
        self._reloader = reloader
        self._provider = Provider(reloader.runs)
        reloader.reload()

    def __repr__(self) -> str:
        locations = ", ".join(source.location for source in self._reloader.sources)
        return f"<Experiment {locations!r}: {len(self._reloader.runs)} runs>"

    def reload(self) -> Experiment:
        """Read what was written since the last read (new runs, files and records)."""
        self._reloader.reload()
        return self

    def runs(self, pattern: Selector = None) -> list[str]:
        """Run names, sorted; ``pattern`` (a regex, or a list of names) filters them."""
        return select(sorted(self._reloader.runs), pattern, "run")

    def tags(self, runs: Selector = None, kind: str | None = None) -> pd.DataFrame:
        """Every tag with data: columns ``run``, ``tag``, ``plugin`` (e.g. ``"histograms"``)
        and ``kind`` (``"scalar"``, ``"tensor"`` or ``"blob_sequence"``); ``kind`` filters."""
        if kind is not None and kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        names = {data_class: name for name, data_class in KINDS.items()}
        rows = [
            (run, tag, info.plugin_name, names[info.data_class])
            for run, tags in self._provider.list_tags(runs=self.runs(runs)).items()
            for tag, info in sorted(tags.items())
            if kind is None or info.data_class is KINDS[kind]
        ]
        return pd.DataFrame(rows, columns=["run", "tag", "plugin", "kind"])

    def scalars(
        self, runs: Selector = None, tags: Selector = None, pivot: bool = False
    ) -> pd.DataFrame:
        """Every scalar point, never sampled: ``run``, ``tag``, ``step``, ``wall_time``, ``value``.

        ``pivot=True`` gives one column per tag instead, indexed by
        (``run``, ``step``), NaN where a tag has no point at that step; when
        a step was written twice, the value written last wins.
        """
        frame = scalar_frame(self._provider, self._pairs("scalars", runs, tags))
        return pivot_scalars(frame) if pivot else frame

    def histograms(self, runs: Selector = None, tags: Selector = None) -> pd.DataFrame:
        """One row per bucket: ``run``, ``tag``, ``step``, ``wall_time``, ``left``,
        ``right``, ``count`` (TensorBoard's [k, 3] rows; legacy ``HistogramProto``
        upgraded as it does). ``df.groupby(["run", "tag", "step"])`` gives each histogram."""
        return histogram_frame(self._provider, self._pairs("histograms", runs, tags))

    def images(self, runs: Selector = None, tags: Selector = None) -> pd.DataFrame:
        """One row per image: ``run``, ``tag``, ``step``, ``wall_time``, ``sample``, ``image``.

        ``image`` is an :class:`ImageRef`: nothing is read until asked
        (``.bytes()``, ``.to_numpy()``, ``.to_pil()``, ``.size``, ``.mime_type``).
        """
        pairs = self._pairs("images", runs, tags)
        return media_frame(self._provider, pairs, ImageRef, "image")

    def audio(self, runs: Selector = None, tags: Selector = None) -> pd.DataFrame:
        """One row per clip: ``run``, ``tag``, ``step``, ``wall_time``, ``sample``, ``audio``
        (an :class:`AudioRef`: ``.bytes()`` is the WAV, ``.to_numpy()`` the samples)."""
        pairs = self._pairs("audio", runs, tags)
        return media_frame(self._provider, pairs, AudioRef, "audio")

    def text(self, runs: Selector = None, tags: Selector = None) -> pd.DataFrame:
        """One row per step: ``run``, ``tag``, ``step``, ``wall_time``, ``text`` (a ``str``,
        or a numpy array of ``str`` for a table)."""
        return text_frame(self._provider, self._pairs("text", runs, tags))

    def hparams(self) -> pd.DataFrame:
        """One row per trial (a run with ``_hparams_/session_start_info``): ``run``,
        each hyperparameter, then each metric's final value (last step).

        Metrics are those the experiment config declares (a metric with group
        ``validation`` is read from run ``<trial>/validation`` and named
        ``validation/<tag>``), or without a config the scalar tags of each
        trial's run and sub-runs. ``df.attrs["hparams"]`` and
        ``df.attrs["metrics"]`` list the columns of each kind.
        """
        return hparams_frame(self._provider, self.runs())

    def health(self, runs: Selector = None) -> pd.DataFrame:
        """The health flags: one row per flag, with ``run``, ``tag``, ``kind``, ``level``,
        ``step``, ``wall_time``, ``value`` and ``message`` (the server's ``/data/health``).

        Kinds: ``nonfinite`` (the first NaN/Inf; error), ``divergence`` (a loss far above
        its running minimum; warning), ``spike`` (info or warning),
        ``exploding_gradients`` / ``vanishing_gradients`` (``gradient_norm/*`` tags, as
        ``lumiboard.watch`` writes them) and ``alert`` (:func:`lumiboard.alert`; ``value``
        NaN). The rules: :mod:`lumiboard.store.health_rules`.

        Example::

            exp.health().query("level == 'error'")[["run", "tag", "step", "message"]]
        """
        from lumiboard.store.health import index_for

        frame: pd.DataFrame = index_for(self._provider).report(self.runs(runs)).to_frame()
        return frame

    def export(self, path: str | os.PathLike[str], format: str = "parquet") -> list[Path]:
        """Write scalars, histograms, text and hparams to ``path`` (a directory) as
        ``<table>.parquet`` (pyarrow) or ``<table>.csv``; return the files written.

        Scalars are always written; the other tables when they have rows. In
        the text table, an array (a table) is written as its JSON nested list.
        """
        tables = {
            "scalars": self.scalars(),
            "histograms": self.histograms(),
            "text": exporting.text_for_export(self.text()),
            "hparams": self.hparams(),
        }
        return exporting.write_tables(tables, path, format)

    def to_mlflow(
        self,
        tracking_uri: str,
        experiment: str | None = None,
        *,
        runs: Selector = None,
        lumiboard_url: str | None = None,
    ) -> MlflowExport:
        """Send the runs to MLflow (``pip install "lumiboard[mlflow]"``): each run becomes an
        MLflow run with every scalar point as metrics, its hparams as params and its event
        files as artifacts under ``tensorboard_logs/``. Running it again sends only what is
        new. ``experiment`` defaults to the log directory's name; ``lumiboard_url`` (where
        this log directory is served) adds a ``lumiboard.url`` tag linking back to the run.

        Example::

            report = lumiboard.read("runs").to_mlflow("http://localhost:5000")
            print(report.points, "points sent")
        """
        from lumiboard.integrations.mlflow_export import export_runs

        return export_runs(
            self._reloader,
            self._provider,
            tracking_uri,
            experiment,
            runs=self.runs(runs),
            lumiboard_url=lumiboard_url,
        )

    def _pairs(self, plugin: str, runs: Selector, tags: Selector) -> list[tuple[str, str]]:
        return series_pairs(self._provider, self.runs(runs), plugin, tags)
