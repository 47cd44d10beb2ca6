"""Demo data for the projector: three word-like clusters with labels, sizes and thumbnails."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lumiboard.writer.summary_writer import SummaryWriter

GROUPS = ("animal", "vehicle", "fruit")


def write_demo(logdir: Path) -> None:
    """Write ``<logdir>/projector``: 600 points in 3 clusters of 64-D vectors, 2 metadata columns.

    Each point has a label (its group), a numeric ``size`` column (coloured as a gradient) and
    a thumbnail tinted by group, so every part of the dashboard has something to show.
    """
    rng = np.random.default_rng(2024)
    per_group, dim = 200, 64
    centres = rng.normal(size=(len(GROUPS), dim)) * 3
    mat = np.concatenate([c + rng.normal(size=(per_group, dim)) for c in centres])
    rows = [[group, f"{rng.uniform(0, 10):.2f}"] for group in GROUPS for _ in range(per_group)]
    tints = np.array([[0.9, 0.3, 0.2], [0.2, 0.5, 0.9], [0.3, 0.8, 0.3]], dtype=np.float32)
    images = np.empty((len(rows), 3, 12, 12), dtype=np.float32)
    for i in range(len(rows)):
        shade = rng.uniform(0.5, 1.0, size=(12, 12)).astype(np.float32)
        images[i] = tints[i // per_group][:, None, None] * shade
    with SummaryWriter(str(logdir / "projector")) as writer:
        writer.add_embedding(
            mat.astype(np.float32),
            metadata=rows,
            metadata_header=["group", "size"],
            label_img=images,
            tag="word_clusters",
        )
