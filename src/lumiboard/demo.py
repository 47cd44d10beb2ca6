"""A demo log directory with every kind of data lumiboard writes.

Three training runs of a hyperparameter sweep (scalars, histograms, hparams,
PR curves), one media run (images, boxes, figure, video, audio, text), one
TF2-style run, a custom-scalars layout, a mesh, embeddings, model graphs (a torch
model's, stored in ``demo_data/`` so that torch is not needed, and one with step
stats and a Keras model) and PyTorch profiler traces of a two-rank job.

Writing the demo again into the same directory replaces what the demo wrote there
before (a marker file says which directory is a demo's), so a re-run gives the same
data, not twice the points; a directory holding anything else is refused.
"""

from __future__ import annotations

import json
import math
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from lumiboard import hparams as hp
from lumiboard import summary
from lumiboard.writer.summary_writer import SummaryWriter

LEARNING_RATES = (0.1, 0.01, 0.001)
STEPS = 200


# What the demo writes at the top of its log directory: these runs (directories), event files
# at the root (the hparams experiment config), and the marker naming the directory a demo's.
MARKER = ".lumiboard-demo.json"
_ENTRIES = (
    *(f"lr_{lr}" for lr in LEARNING_RATES),
    "sweep",
    "media",
    "tf2_style",
    "graphs_demo",
    "projector",
    "profile",
    "live",
)
_ROOT_FILES = "events.out.tfevents."
_LIVE_FILES = "live/events.out.tfevents."


class DemoDirError(ValueError):
    """The demo's target directory holds files the demo did not write; nothing was changed."""


def write_demo(logdir: str | Path, steps: int = STEPS, seed: int = 0) -> Path:
    """Write the demo under ``logdir`` and return its path.

    ``logdir`` must be missing, empty, or a log directory this function wrote before: then the
    earlier demo's files are deleted first, so that a re-run does not double every series.
    Anything else raises :class:`DemoDirError` before a file is touched.
    """
    root = Path(logdir)
    _clear_previous(root)
    root.mkdir(parents=True, exist_ok=True)
    # The marker goes first, so that a demo interrupted half-way can still be rewritten.
    _write_marker(root, files=None)
    rng = np.random.default_rng(seed)
    _write_sweep(root, steps, rng)
    _write_media(root / "media", rng)
    _write_tf2_style(root / "tf2_style", steps, rng)
    # Files other dashboards read: a model graph with step stats and a Keras model, a larger
    # embedding, and PyTorch profiler traces of a two-rank job.
    from lumiboard.plugins.graphs import demo as graphs_demo
    from lumiboard.plugins.profile import demo as profile_demo
    from lumiboard.plugins.projector import demo as projector_demo

    graphs_demo.write_demo(root)
    projector_demo.write_demo(root)
    profile_demo.write_demo(root)
    _write_marker(root, files=sorted(_relative_files(root)))
    return root


def _write_marker(root: Path, files: list[str] | None) -> None:
    # ``files`` (every file written, once the demo is complete) lets a re-run tell a file the
    # user added inside one of the demo's runs from the demo's own.
    marker = {"lumiboard_demo": 1, "files": files}
    (root / MARKER).write_text(json.dumps(marker, indent=0) + "\n")


def _relative_files(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.name != MARKER
    }


def _clear_previous(root: Path) -> None:
    """Delete an earlier demo's files under ``root``; refuse if anything there is not the demo's."""
    if not root.exists():
        return
    if not root.is_dir():
        raise DemoDirError(f"{root} is a file, not a directory")
    entries = sorted(entry.name for entry in root.iterdir())
    if not entries:
        return
    try:
        marker = json.loads((root / MARKER).read_text())
        owned = marker["files"]
    except (OSError, ValueError, KeyError, TypeError):
        if all(entry in _ENTRIES or entry.startswith(_ROOT_FILES) for entry in entries):
            # Demos of earlier versions left no marker: never guess, but say what to do.
            raise DemoDirError(
                f"{root} looks like a demo written by an earlier lumiboard, which left no "
                "marker saying so; delete it first or pick another directory with --logdir"
            ) from None
        raise DemoDirError(
            f"{root} is not empty and was not written by `lumiboard demo`; "
            "pick a new or empty directory with --logdir"
        ) from None
    foreign = [
        entry
        for entry in entries
        if entry != MARKER and entry not in _ENTRIES and not entry.startswith(_ROOT_FILES)
    ]
    if isinstance(owned, list):
        # The live run's event files are written after the list: they are the demo's too.
        foreign += sorted(
            name
            for name in _relative_files(root) - set(owned)
            if not name.startswith(_LIVE_FILES) and name.split("/")[0] not in foreign
        )
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise DemoDirError(
            f"{root} holds a demo log directory and files the demo did not write ({shown}); "
            "move them out or pick another directory with --logdir"
        )
    for entry in entries:
        path = root / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


LR_PARAM = hp.HParam("lr", hp.Discrete(list(LEARNING_RATES)))
OPT_PARAM = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
DROPOUT_PARAM = hp.HParam("dropout", hp.RealInterval(0.0, 0.5))
BATCH_PARAM = hp.HParam("batch_size", hp.Discrete([32, 64, 128]))


def _write_sweep(root: Path, steps: int, rng: np.random.Generator) -> None:
    params = [LR_PARAM, OPT_PARAM, DROPOUT_PARAM, BATCH_PARAM]
    metrics = [hp.Metric("accuracy", display_name="Accuracy"), hp.Metric("loss")]
    with SummaryWriter(root) as top:
        hp.hparams_config(params, metrics, writer=top)
    for index, lr in enumerate(LEARNING_RATES):
        optimizer = "adam" if index % 2 == 0 else "sgd"
        with SummaryWriter(root / f"lr_{lr}") as writer:
            values: dict[hp.HParam | str, Any] = {
                LR_PARAM: lr,
                OPT_PARAM: optimizer,
                DROPOUT_PARAM: 0.1,
                BATCH_PARAM: 64,
            }
            hp.hparams(values, trial_id=f"lr_{lr}", writer=writer)
            speed = 0.01 + 3 * lr
            for step in range(steps):
                loss = 2.0 * math.exp(-speed * step) + 0.05 * rng.standard_normal() + 0.1
                writer.add_scalar("loss", loss, step)
                writer.add_scalar("accuracy", 1.0 - loss / 2.5, step)
                writer.add_scalar("train/learning_rate", lr * 0.99**step, step)
                if step % 20 == 0:
                    spread = 1.0 / (1 + step * speed)
                    writer.add_histogram("weights/fc1", rng.normal(0, spread, 2000), step)
                    labels = rng.random(500) < 0.5
                    # Classes drift apart as training goes on: the curve bows outwards.
                    separation = 0.1 + 0.35 * step / steps
                    scores = np.clip(rng.normal(0.4 + labels * separation, 0.18), 0, 1)
                    writer.add_pr_curve("pr/positive", labels, scores, step)
            writer.add_scalars("compare", {"train": 0.3 + lr, "val": 0.35 + lr}, steps)
            hp.session_end("success", writer=writer)
        if lr == LEARNING_RATES[0]:
            _write_extras(root / f"lr_{lr}", rng)
    _write_trials(root / "sweep", steps // 4, rng)


def _write_trials(root: Path, steps: int, rng: np.random.Generator) -> None:
    """More trials of the sweep, with loss and accuracy only: a table worth filtering.

    One fails, one is still running (no end summary) and one logged its hparams but no
    metric yet, as happens in real sweeps.
    """
    for index in range(12):
        lr = LEARNING_RATES[index % 3]
        optimizer = ("adam", "sgd")[index // 3 % 2]
        dropout = round(float(rng.uniform(0.0, 0.5)), 2)
        batch = (32, 64, 128)[index // 6 + index % 2]
        name = f"trial_{index:02d}"
        with SummaryWriter(root / name) as writer:
            values: dict[hp.HParam | str, Any] = {
                LR_PARAM: lr,
                OPT_PARAM: optimizer,
                DROPOUT_PARAM: dropout,
                BATCH_PARAM: batch,
            }
            hp.hparams(values, trial_id=name, writer=writer)
            if index == 11:
                continue  # hparams, no metrics yet
            speed = (0.02 + 2 * lr) * (1.2 if optimizer == "adam" else 0.8) * (1 - dropout)
            floor = 0.08 + dropout * 0.2 + (0.05 if batch == 128 else 0.0)
            for step in range(steps):
                loss = 2.0 * math.exp(-speed * step) + floor + 0.03 * rng.standard_normal()
                if index == 9 and step > steps // 2:
                    loss += 0.1 * (step - steps // 2)  # diverges
                writer.add_scalar("loss", loss, step)
                writer.add_scalar("accuracy", max(0.0, 1.0 - loss / 2.5), step)
            if index != 10:
                hp.session_end("failure" if index == 9 else "success", writer=writer)


def _write_extras(run: Path, rng: np.random.Generator) -> None:
    with SummaryWriter(run) as writer:
        writer.add_custom_scalars(
            {"Training": {"loss and accuracy": ["Multiline", ["loss", "accuracy"]]}}
        )
        points = rng.normal(size=(1, 500, 3))
        colors = ((points - points.min()) / np.ptp(points) * 255).astype(np.uint8)
        writer.add_mesh("point_cloud", points, colors=colors, global_step=0)
        features = np.concatenate([rng.normal(c, 0.5, (50, 8)) for c in (0, 3, 6)])
        labels = [f"cluster{i // 50}" for i in range(150)]
        thumbs = np.repeat(np.linspace(0, 1, 150)[:, None, None, None], 3, 1) * np.ones(
            (1, 3, 8, 8)
        )
        writer.add_embedding(features, metadata=labels, label_img=thumbs, tag="features")
        _write_graph(writer)


def _write_graph(writer: SummaryWriter) -> None:
    """The graph ``add_graph`` writes for a small torch MLP, from the copy in ``demo_data/``.

    Stored (``scripts/make_demo_graph.py`` traced it) rather than traced here, so that the demo
    needs no torch and shows the same Graphs tab with or without it.
    """
    import time

    from google.protobuf import text_format

    from lumiboard.format.proto import event_pb2, graph_pb2, run_metadata_pb2

    data = resources.files("lumiboard") / "demo_data"
    graph = text_format.Parse((data / "graph.pbtxt").read_text(), graph_pb2.GraphDef())
    metadata = text_format.Parse(
        (data / "run_metadata.pbtxt").read_text(), run_metadata_pb2.RunMetadata()
    )
    now = time.time()
    # The two events add_graph writes: the GraphDef, then its step stats under the tag "step1".
    writer._event(event_pb2.Event(wall_time=now, graph_def=graph.SerializeToString()))
    tagged = event_pb2.TaggedRunMetadata(tag="step1", run_metadata=metadata.SerializeToString())
    writer._event(event_pb2.Event(wall_time=now, tagged_run_metadata=tagged))


def _write_media(run: Path, rng: np.random.Generator) -> None:
    height, width = 64, 96
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    with SummaryWriter(run) as writer:
        for step in range(0, 50, 10):
            phase = step / 50
            image = np.stack([x, y, np.full_like(x, phase)])
            writer.add_image("gradient", image, step)
            writer.add_images("batch", rng.random((4, 3, 16, 16)), step)
            boxes = np.array([[5 + step, 5, 30 + step, 40]])
            writer.add_image_with_boxes("detections", image, boxes, step, labels=["cat"])
            t = np.linspace(0, 1, 22050, endpoint=False)
            writer.add_audio("tone", 0.5 * np.sin(2 * np.pi * (220 + 10 * step) * t), step, 22050)
            writer.add_text(
                "notes",
                f"## Step {step}\n\n| metric | value |\n|---|---|\n| phase | {phase:.2f} |",
                step,
            )
        frames = np.stack([np.roll(np.stack([x, y, 1 - x]), s, axis=2) for s in range(0, 96, 8)])
        writer.add_video("moving", frames[None], 0, fps=8)
        _write_figure(writer)


def _write_figure(writer: SummaryWriter) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    figure, axes = plt.subplots(figsize=(4, 3))
    axes.plot(np.sin(np.linspace(0, 6.28, 100)))
    axes.set_title("matplotlib figure")
    writer.add_figure("figure", figure, 0)


def _write_tf2_style(run: Path, steps: int, rng: np.random.Generator) -> None:
    writer = summary.create_file_writer(str(run))
    with writer.as_default():
        for step in range(steps):
            summary.scalar("tf2/loss", 1.0 / (1 + step), step=step)
            if step % 50 == 0:
                summary.histogram("tf2/activations", rng.normal(size=1000), step=step, buckets=20)
                summary.image("tf2/noise", rng.random((2, 16, 16, 1)), step=step, max_outputs=2)
                summary.text("tf2/table", np.array([["a", "b"], ["1", "2"]]), step=step)
    writer.close()


class LiveRun:
    """A run that keeps training while the demo is served: new points every half second."""

    def __init__(self, root: Path, interval: float = 0.5) -> None:
        import threading

        self._stop = threading.Event()
        self._interval = interval
        self._writer = SummaryWriter(root / "live", flush_secs=1)
        self._thread = threading.Thread(target=self._run, name="lumiboard-demo-live", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rng = np.random.default_rng(1)
        step = 0
        while not self._stop.wait(self._interval):
            loss = 1.5 * math.exp(-step / 150) + 0.05 * rng.standard_normal() + 0.2
            self._writer.add_scalar("loss", loss, step)
            self._writer.add_scalar("accuracy", 1.0 - loss / 2, step)
            step += 1

    def stop(self) -> None:
        """Stop writing and close the run's event file."""
        self._stop.set()
        self._thread.join()
        self._writer.close()


def start_live_run(root: str | Path) -> LiveRun:
    """Start writing the demo's ``live`` run in the background."""
    return LiveRun(Path(root))
