"""``SummaryWriter``: the API of ``torch.utils.tensorboard``, without its costs.

Same constructor, methods, signatures and defaults as PyTorch's writer, with
these differences, each on purpose:

- ``flush_secs`` defaults to 2 s (PyTorch: 120 s, so data seemed to vanish).
- ``add_*`` never waits on disk: a background thread frames and writes.
- Inputs can be numbers, numpy arrays, torch tensors (CPU/CUDA, any dtype),
  JAX arrays; torch is imported only when a torch object is passed.
- Remote log dirs (``s3://``, ``gs://``, any fsspec URL) work.
- ``add_video`` needs no moviepy (Pillow writes the GIF).
- ``add_hparams(..., separate_run=False)`` records hparams in this run
  instead of a new timestamped sub-run; bool hparams are recorded as bools
  (PyTorch records them as 1.0/0.0).
- ``add_pr_curve`` is not capped at 127 thresholds.
- ``add_tensor`` of float16, bfloat16 or uint8 data is readable by
  TensorBoard (PyTorch's is not).
- ``add_embedding`` records each embedding's shape, keeps uint8 thumbnails
  as they are (PyTorch multiplies them by 255 again) and replaces tabs and
  newlines in labels with spaces (they would break ``metadata.tsv``).
- ``ranks=`` says which processes of a distributed job write (PyTorch:
  every process, as ``ranks="all"``, the default).
- ``system_metrics=True`` samples CPU, memory, disk, network and GPUs into
  the run (``lumiboard.writer.system_metrics``).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from lumiboard.format.arrays import to_float, to_numpy
from lumiboard.format.proto import custom_scalars_pb2, event_pb2, summary_pb2
from lumiboard.format.values import check_tag, make_metadata, tensor_value
from lumiboard.plugins.custom_scalars import summary as custom_scalars
from lumiboard.plugins.histograms import summary as histograms
from lumiboard.plugins.hparams import summary as hparams_summary
from lumiboard.plugins.mesh import summary as mesh
from lumiboard.plugins.pr_curves import summary as pr_curves
from lumiboard.plugins.scalars import summary as scalars
from lumiboard.plugins.text import summary as text
from lumiboard.writer import fs
from lumiboard.writer.event_file import FILE_VERSION, EventFileWriter
from lumiboard.writer.ranks import check_ranks, detect_rank, rank_log_dir
from lumiboard.writer.steps import to_step, to_walltime

Value = summary_pb2.Summary.Value


def default_logdir(comment: str = "") -> str:
    """``runs/<Mon DD_HH-MM-SS>_<hostname><comment>``, as PyTorch names runs."""
    stamp = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


def _ignore(*args: Any, **kwargs: Any) -> None:
    """What a muted writer's ``add_*`` do: nothing."""


def _close_figure(
    tag: Any, figure: Any, global_step: Any = None, close: bool = True, **_: Any
) -> None:
    # A muted add_figure still closes the figure, as the caller relies on it.
    if close:
        import matplotlib.pyplot as plt

        for one in figure if isinstance(figure, (list, tuple)) else [figure]:
            plt.close(one)


class SummaryWriter:
    """Write TensorBoard event files from a training loop.

    Args:
        log_dir: Directory or URL (``s3://bucket/run``) to write into. Default
            ``runs/<date>_<hostname><comment>``.
        comment: Suffix of the default ``log_dir``; ignored when ``log_dir`` is set.
        purge_step: When resuming after a crash at step T+X, pass T: TensorBoard
            then drops the events with step >= T written by the crashed run.
        max_queue: Events held in memory before the writer thread writes them.
        flush_secs: How often written events are made visible (default 2 s).
        filename_suffix: Appended to every event file name.
        ranks: Which processes of a distributed job write (the rank is
            detected from torch.distributed, torchrun, SLURM, MPI, TF_CONFIG
            or JAX; see ``lumiboard.writer.ranks``):

            - ``"all"`` (default, as PyTorch): every process writes its own
              event file into ``log_dir`` (files are named by host and pid,
              so no two processes ever share one).
            - ``"zero"``: only rank 0 writes; on other ranks no file is
              created, no thread started, and every ``add_*`` returns at once
              (``add_figure`` still closes the figure).
            - ``"separate"``: each rank writes into ``<log_dir>/rank_<k>``,
              one run per rank (the app can group them: mean and min-max band).

            Anything else raises ``ValueError``. ``rank_info`` holds the rank
            found. In a job, pass the same ``log_dir`` to every rank (the
            default one holds the host name and the time).
        system_metrics: ``True`` samples CPU, process and system memory, disk
            and network I/O and NVIDIA GPUs every 10 s on a background thread
            (a number: every that many seconds) and writes them as scalars
            under ``system/``, at a step counting the samples; ``close()``
            stops it. Off (``False``) by default. Tags, and what happens per
            rank, in ``lumiboard.writer.system_metrics``.

    Example::

        from lumiboard import SummaryWriter

        with SummaryWriter("runs/exp1") as writer:
            for step in range(100):
                writer.add_scalar("loss/train", 1.0 / (step + 1), step)

        # under torchrun: one run per rank, runs/exp1/rank_0 ... rank_<N-1>
        writer = SummaryWriter("runs/exp1", ranks="separate")

        # GPU, CPU, memory, disk and network every 10 s, under system/
        writer = SummaryWriter("runs/exp2", system_metrics=True)
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] | None = None,
        comment: str = "",
        purge_step: int | None = None,
        max_queue: int = 10,
        flush_secs: float = 2,
        filename_suffix: str = "",
        *,
        ranks: str = "all",
        system_metrics: bool | float = False,
    ) -> None:
        self.ranks = check_ranks(ranks)
        interval = None
        if system_metrics is not False:
            from lumiboard.writer.system_metrics import interval_from_option

            interval = interval_from_option(system_metrics)
        self.rank_info = detect_rank()
        job_dir = fs.normalize(log_dir) if log_dir else default_logdir(comment)
        own_dir = rank_log_dir(job_dir, ranks, self.rank_info)
        self.log_dir = job_dir if own_dir is None else own_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._file_writer: EventFileWriter | None = None
        self._scalars_writers: dict[str, EventFileWriter] = {}
        self._layout = custom_scalars_pb2.Layout()
        self._projector_config: Any = None
        self._system_monitor: Any = None
        if own_dir is None:
            self._mute()
            return
        self._writer()
        if purge_step is not None:
            step = to_step(purge_step, "purge_step")
            self._event(event_pb2.Event(step=step, file_version=FILE_VERSION))
            start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
            self._event(event_pb2.Event(step=step, wall_time=time.time(), session_log=start))
            self.purge_step = None
        if interval is not None:
            from lumiboard.writer.system_metrics import monitor

            monitor(self, interval)

    # ---- plumbing ---------------------------------------------------------

    def _mute(self) -> None:
        # ranks="zero" on a rank other than 0: each writing method becomes a
        # do-nothing function bound on the instance, so a call costs one call
        # (no check, no conversion, no queue) and no file or thread ever exists.
        for name in dir(type(self)):
            if name.startswith("add_") or name in ("write_values", "_event"):
                self.__dict__[name] = _ignore
        self.__dict__["add_figure"] = _close_figure

    def _writer(self) -> EventFileWriter:
        # Reopened lazily after close(), as PyTorch's writer is.
        if self._file_writer is None:
            self._file_writer = EventFileWriter(
                self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix
            )
        return self._file_writer

    def _event(self, event: event_pb2.Event) -> None:
        self._writer().add_serialized(event.SerializeToString())

    def write_values(
        self, values: Sequence[Value], global_step: Any = None, walltime: Any = None
    ) -> None:
        """Write prepared ``Summary.Value`` protos as one event (low-level)."""
        event = event_pb2.Event(
            wall_time=to_walltime(walltime),
            step=to_step(global_step),
            summary=summary_pb2.Summary(value=values),
        )
        self._writer().add_serialized(event.SerializeToString())

    def get_logdir(self) -> str:
        """The directory (or URL) event files are written to."""
        return self.log_dir

    # ---- scalars ------------------------------------------------------------

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: Any = None,
        walltime: Any = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None:
        """Add one scalar. NaN and Inf are recorded as they are.

        ``new_style=True`` writes a rank-0 tensor (float64 with
        ``double_precision``) instead of the legacy ``simple_value``.

        Example: ``writer.add_scalar("loss", loss.item(), step)``
        """
        check_tag(tag)
        value = scalar_value if type(scalar_value) is float else to_float(scalar_value)
        if new_style:
            proto = scalars.tensor_scalar_value(tag, value, double_precision)
        else:
            proto = scalars.legacy_value(tag, value)
        self.write_values([proto], global_step, walltime)

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: Mapping[str, Any],
        global_step: Any = None,
        walltime: Any = None,
    ) -> None:
        """Add several scalars that share one chart.

        As in PyTorch, each key is written to its own run,
        ``<log_dir>/<main_tag>_<key>``, under the tag ``main_tag``.

        Example: ``writer.add_scalars("loss", {"train": 0.3, "val": 0.4}, step)``
        """
        check_tag(main_tag, "main_tag")
        if not isinstance(tag_scalar_dict, Mapping):
            raise TypeError("tag_scalar_dict must be a dict of {name: number}")
        wall_time, step = to_walltime(walltime), to_step(global_step)
        prepared = [
            (check_tag(key, "tag_scalar_dict key"), to_float(v, f"tag_scalar_dict[{key!r}]"))
            for key, v in tag_scalar_dict.items()
        ]
        for key, value in prepared:
            run = fs.join(self.log_dir, f"{main_tag.replace('/', '_')}_{key}")
            writer = self._scalars_writers.get(run)
            if writer is None:
                writer = EventFileWriter(run, self.max_queue, self.flush_secs, self.filename_suffix)
                self._scalars_writers[run] = writer
            event = event_pb2.Event(
                wall_time=wall_time,
                step=step,
                summary=summary_pb2.Summary(value=[scalars.legacy_value(main_tag, value)]),
            )
            writer.add_serialized(event.SerializeToString())

    def add_tensor(
        self, tag: str, tensor: Any, global_step: Any = None, walltime: Any = None
    ) -> None:
        """Add a raw tensor (plugin ``tensor``; no dashboard draws it)."""
        check_tag(tag)
        array = to_numpy(tensor, "tensor")
        self.write_values(
            [tensor_value(tag, array, make_metadata("tensor"))], global_step, walltime
        )

    # ---- distributions --------------------------------------------------------

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: Any = None,
        bins: str | int | Sequence[float] = "tensorflow",
        walltime: Any = None,
        max_bins: int | None = None,
    ) -> None:
        """Add a histogram of ``values``.

        ``bins`` is ``"tensorflow"`` (TensorFlow's exponential buckets, the
        default), any ``numpy.histogram`` rule (``"auto"``, ``"fd"``, ...), a
        count, or explicit edges.

        Example: ``writer.add_histogram("fc1/weight", model.fc1.weight, step)``
        """
        check_tag(tag)
        proto = histograms.histogram_proto(to_numpy(values, "values"), bins, max_bins)
        self.write_values([histograms.legacy_value(tag, proto)], global_step, walltime)

    def add_histogram_raw(
        self,
        tag: str,
        min: float,
        max: float,
        num: float,
        sum: float,
        sum_squares: float,
        bucket_limits: Sequence[float],
        bucket_counts: Sequence[float],
        global_step: Any = None,
        walltime: Any = None,
    ) -> None:
        """Add a histogram from precomputed statistics; ``bucket_limits`` are right edges."""
        check_tag(tag)
        proto = histograms.raw_histogram_proto(
            min,
            max,
            num,
            sum,
            sum_squares,
            to_numpy(bucket_limits, "bucket_limits"),
            to_numpy(bucket_counts, "bucket_counts"),
        )
        self.write_values([histograms.legacy_value(tag, proto)], global_step, walltime)

    # ---- images, video, audio ---------------------------------------------

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: Any = None,
        dataformats: str = "CHW",
    ) -> None:
        """Add one image. Floats are taken as [0, 1], uint8 as [0, 255].

        Example: ``writer.add_image("input", img_chw, step)`` or
        ``writer.add_image("mask", mask_hw, step, dataformats="HW")``
        """
        from lumiboard.plugins.images import summary as images

        check_tag(tag)
        value = images.image_value(tag, to_numpy(img_tensor, "img_tensor"), dataformats)
        self.write_values([value], global_step, walltime)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Any = None,
        walltime: Any = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Add a batch of images, tiled into one grid image."""
        from lumiboard.plugins.images import summary as images

        check_tag(tag)
        value = images.images_value(tag, to_numpy(img_tensor, "img_tensor"), dataformats)
        self.write_values([value], global_step, walltime)

    def add_image_with_boxes(
        self,
        tag: str,
        img_tensor: Any,
        box_tensor: Any,
        global_step: Any = None,
        walltime: Any = None,
        rescale: float = 1,
        dataformats: str = "CHW",
        labels: list[str] | None = None,
    ) -> None:
        """Add an image with red ``[x1, y1, x2, y2]`` boxes and optional labels drawn in."""
        from lumiboard.plugins.images import summary as images

        check_tag(tag)
        value = images.image_with_boxes_value(
            tag,
            to_numpy(img_tensor, "img_tensor"),
            to_numpy(box_tensor, "box_tensor"),
            dataformats,
            rescale,
            labels,
        )
        self.write_values([value], global_step, walltime)

    def add_figure(
        self,
        tag: str,
        figure: Any,
        global_step: Any = None,
        close: bool = True,
        walltime: Any = None,
    ) -> None:
        """Render a matplotlib figure (or a list of them, tiled) as an image."""
        import numpy as np

        from lumiboard.plugins.images import summary as images

        check_tag(tag)
        if isinstance(figure, (list, tuple)):
            if not figure:
                raise ValueError("figure must not be an empty list")
            arrays = [images.figure_to_array(f, close=close) for f in figure]
            value = images.images_value(tag, np.stack(arrays), "NHWC")
        else:
            value = images.image_value(tag, images.figure_to_array(figure, close=close), "HWC")
        self.write_values([value], global_step, walltime)

    def add_video(
        self,
        tag: str,
        vid_tensor: Any,
        global_step: Any = None,
        fps: float = 4,
        walltime: Any = None,
    ) -> None:
        """Add a video ``(N, T, C, H, W)`` as an animated GIF (no moviepy needed)."""
        from lumiboard.plugins.images import summary as images

        check_tag(tag)
        value = images.video_value(tag, to_numpy(vid_tensor, "vid_tensor"), fps)
        self.write_values([value], global_step, walltime)

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: Any = None,
        sample_rate: int = 44100,
        walltime: Any = None,
    ) -> None:
        """Add a mono clip of samples in [-1, 1] as a 16-bit WAV."""
        from lumiboard.plugins.audio import summary as audio

        check_tag(tag)
        value = audio.audio_value(tag, to_numpy(snd_tensor, "snd_tensor"), sample_rate)
        self.write_values([value], global_step, walltime)

    # ---- text, graphs, embeddings -------------------------------------------

    def add_text(
        self, tag: str, text_string: str, global_step: Any = None, walltime: Any = None
    ) -> None:
        """Add markdown text (shown under ``<tag>/text_summary``, as PyTorch does)."""
        check_tag(tag)
        self.write_values([text.torch_text_value(tag, text_string)], global_step, walltime)

    def add_graph(
        self,
        model: Any,
        input_to_model: Any = None,
        verbose: bool = False,
        use_strict_trace: bool = True,
    ) -> None:
        """Trace a ``torch.nn.Module`` and write its graph for the Graphs dashboard.

        Example: ``writer.add_graph(model, torch.zeros(1, 3, 32, 32))``
        """
        from lumiboard.integrations.torch_graph import graph_event_payloads

        graph, run_metadata = graph_event_payloads(
            model, input_to_model, verbose=verbose, use_strict_trace=use_strict_trace
        )
        self._event(event_pb2.Event(wall_time=time.time(), graph_def=graph))
        tagged = event_pb2.TaggedRunMetadata(tag="step1", run_metadata=run_metadata)
        self._event(event_pb2.Event(wall_time=time.time(), tagged_run_metadata=tagged))

    def add_embedding(
        self,
        mat: Any,
        metadata: Sequence[Any] | None = None,
        label_img: Any = None,
        global_step: Any = None,
        tag: str = "default",
        metadata_header: Sequence[str] | None = None,
    ) -> None:
        """Write an embedding ``[N, D]`` for the projector, with labels and thumbnails.

        Example: ``writer.add_embedding(features, metadata=labels, label_img=images)``
        """
        from lumiboard.plugins.projector import summary as projector

        check_tag(tag)
        if self._projector_config is None:
            self._projector_config = projector.read_config(self.log_dir)
        projector.write_embedding(
            self.log_dir,
            self._projector_config,
            to_numpy(mat, "mat"),
            list(metadata) if metadata is not None else None,
            to_numpy(label_img, "label_img") if label_img is not None else None,
            to_step(global_step),
            tag,
            metadata_header,
        )

    # ---- PR curves ------------------------------------------------------------

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: Any = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: Any = None,
    ) -> None:
        """Add a precision-recall curve from boolean ``labels`` and [0, 1] ``predictions``."""
        check_tag(tag)
        curve = pr_curves.compute_curve(
            to_numpy(labels, "labels"),
            to_numpy(predictions, "predictions"),
            num_thresholds,
            None if weights is None else to_numpy(weights, "weights"),
        )
        value = pr_curves.pr_curve_value(tag, curve, num_thresholds)
        self.write_values([value], global_step, walltime)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: Any,
        false_positive_counts: Any,
        true_negative_counts: Any,
        false_negative_counts: Any,
        precision: Any,
        recall: Any,
        global_step: Any = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: Any = None,
    ) -> None:
        """Add a precision-recall curve from precomputed counts.

        ``weights`` is accepted and unused, as in PyTorch.
        """
        del weights
        check_tag(tag)
        curve = pr_curves.raw_curve(
            to_numpy(true_positive_counts, "true_positive_counts"),
            to_numpy(false_positive_counts, "false_positive_counts"),
            to_numpy(true_negative_counts, "true_negative_counts"),
            to_numpy(false_negative_counts, "false_negative_counts"),
            to_numpy(precision, "precision"),
            to_numpy(recall, "recall"),
        )
        if curve.shape[1] != num_thresholds:
            raise ValueError(
                f"num_thresholds is {num_thresholds} but the counts have {curve.shape[1]} entries"
            )
        self.write_values(
            [pr_curves.pr_curve_value(tag, curve, num_thresholds)], global_step, walltime
        )

    # ---- custom scalars, mesh, hparams ----------------------------------------

    def add_custom_scalars(self, layout: custom_scalars.LayoutDict) -> None:
        """Lay out the Custom Scalars dashboard.

        Example::

            writer.add_custom_scalars({
                "Training": {
                    "loss": ["Multiline", ["loss/train", "loss/val"]],
                    "acc": ["Margin", ["acc", "acc_low", "acc_high"]],
                },
            })
        """
        self._add_layout(custom_scalars.layout_from_dict(layout))

    def add_custom_scalars_multilinechart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """Add one multiline chart (tags are regexes) to the custom-scalars layout."""
        self._add_layout(
            custom_scalars.layout_from_dict({category: {title: ["Multiline", list(tags)]}})
        )

    def add_custom_scalars_marginchart(
        self, tags: Sequence[str], category: str = "default", title: str = "untitled"
    ) -> None:
        """Add one margin chart (value, lower, upper tags) to the custom-scalars layout."""
        self._add_layout(
            custom_scalars.layout_from_dict({category: {title: ["Margin", list(tags)]}})
        )

    def _add_layout(self, layout: custom_scalars_pb2.Layout) -> None:
        # Each call rewrites the whole layout so far, so the newest config
        # event always holds every chart.
        self._layout = custom_scalars.merge_layouts(self._layout, layout)
        self.write_values([custom_scalars.layout_value(self._layout)])

    def add_mesh(
        self,
        tag: str,
        vertices: Any,
        colors: Any = None,
        faces: Any = None,
        config_dict: Mapping[str, Any] | None = None,
        global_step: Any = None,
        walltime: Any = None,
    ) -> None:
        """Add a point cloud or mesh.

        ``vertices`` and ``colors`` are ``[B, N, 3]``, ``faces`` ``[B, F, 3]``
        vertex indices; ``config_dict`` configures the three.js view.
        """
        check_tag(tag)
        values = mesh.mesh_values(
            tag,
            to_numpy(vertices, "vertices"),
            None if colors is None else to_numpy(colors, "colors"),
            None if faces is None else to_numpy(faces, "faces"),
            config_dict,
        )
        self.write_values(values, global_step, walltime)

    def add_hparams(
        self,
        hparam_dict: Mapping[str, Any],
        metric_dict: Mapping[str, Any],
        hparam_domain_discrete: Mapping[str, Sequence[Any]] | None = None,
        run_name: str | None = None,
        global_step: Any = None,
        *,
        separate_run: bool = True,
    ) -> None:
        """Record a trial's hyperparameters and final metrics for the HParams dashboard.

        By default this behaves as PyTorch: a new run ``<log_dir>/<run_name or
        time>`` receives the hparams and one scalar per metric. With
        ``separate_run=False`` they go into this writer's own run, next to the
        training curves; a metric whose value is ``None`` is declared without
        writing a point (use it for tags the run already logs).

        Example::

            writer.add_hparams({"lr": 0.1, "optim": "adam"}, {"hparam/accuracy": 0.9})
        """
        if not isinstance(hparam_dict, Mapping) or not isinstance(metric_dict, Mapping):
            raise TypeError("hparam_dict and metric_dict must be dicts")
        values = {
            name: hparams_summary.normalize_value(name, value)
            for name, value in hparam_dict.items()
            if value is not None
        }
        if hparam_domain_discrete is not None and not isinstance(hparam_domain_discrete, Mapping):
            raise TypeError("hparam_domain_discrete must be a dict of {name: [values]}")
        discrete = dict(hparam_domain_discrete or {})
        for name, domain in discrete.items():
            if name not in values or not isinstance(domain, (list, tuple)):
                raise TypeError(
                    f"hparam_domain_discrete[{name!r}] must be a list and {name!r} an hparam"
                )
        infos, metrics = hparams_summary.torch_experiment_infos(values, list(metric_dict), discrete)
        summaries = [
            hparams_summary.experiment_value(infos, metrics),
            hparams_summary.session_start_value(values, group_name=""),
            hparams_summary.session_end_value("success"),
        ]
        scalar_points = [
            (check_tag(tag, "metric_dict key"), to_float(v, f"metric_dict[{tag!r}]"))
            for tag, v in metric_dict.items()
            if v is not None
        ]
        if not separate_run:
            self.write_values(summaries, global_step)
            for tag, value in scalar_points:
                self.add_scalar(tag, value, global_step)
            return
        logdir = fs.join(self.log_dir, run_name or str(time.time()))
        with SummaryWriter(logdir, flush_secs=self.flush_secs) as trial:
            trial.write_values(summaries, global_step)
            for tag, value in scalar_points:
                trial.add_scalar(tag, value, global_step)

    # ---- lifecycle ------------------------------------------------------------

    def flush(self) -> None:
        """Make everything added so far visible to readers.

        After a failed write (a full disk) this retries what was kept; it
        raises ``EventWriteError`` while writes still fail.
        """
        errors = []
        for writer in self._all_writers():
            # Every file gets its retry, even when an earlier one still fails.
            try:
                writer.flush()
            except Exception as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Flush and close every file. Adding after close opens a new file.

        System metrics sampling stops (for good).
        """
        if self._system_monitor is not None:
            self._system_monitor.stop()
            self._system_monitor = None
        errors = []
        for writer in self._all_writers():
            try:
                writer.close()
            except Exception as error:
                errors.append(error)
        self._file_writer = None
        self._scalars_writers = {}
        if errors:
            raise errors[0]

    def _all_writers(self) -> list[EventFileWriter]:
        main = [self._file_writer] if self._file_writer is not None else []
        return main + list(self._scalars_writers.values())

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
