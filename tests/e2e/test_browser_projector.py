"""The Embedding Projector in chromium (WebGL through SwiftShader).

The log directory holds the same embedding twice, written by lumiboard's SummaryWriter and by
torch's: three gaussian clusters of 300 points in 32 dimensions, labelled ``alpha``, ``beta`` and
``gamma``, with sprite thumbnails. The tests check what is drawn (the clusters' categorical
colours in the canvas pixels), that PCA, t-SNE and UMAP each give a picture in which the clusters
separate (the stage's ``data-summary``: per-label centroids and a separation score), search,
selection with nearest neighbours, dark mode, live updates and the empty state.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_support import ARTIFACTS, UI, Server, color_pixels, rgb
from PIL import Image
from playwright.sync_api import expect

from lumiboard import SummaryWriter

LABELS = ("alpha", "beta", "gamma")
#: The categorical palette's first three colours (alpha, beta, gamma sort in that order).
COLORS = {"alpha": (31, 119, 180), "beta": (255, 127, 14), "gamma": (44, 160, 44)}
PER_CLUSTER, DIM = 300, 32


def _clusters(seed: int = 0) -> tuple[np.ndarray, list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, DIM)) * 4
    mat = np.concatenate([c + rng.normal(size=(PER_CLUSTER, DIM)) for c in centres])
    labels = [label for label in LABELS for _ in range(PER_CLUSTER)]
    images = np.zeros((3 * PER_CLUSTER, 3, 8, 8), dtype=np.float32)
    for k in range(3):  # one flat colour per cluster
        images[k * PER_CLUSTER : (k + 1) * PER_CLUSTER, k] = 1.0
    return mat.astype(np.float32), labels, images


def _write_logdir(root: Path) -> None:
    mat, labels, images = _clusters()
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_scalar("loss", 1.0, 0)
        writer.add_embedding(mat, metadata=labels, label_img=images, tag="clusters")
    torch = pytest.importorskip("torch")
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    writer.add_embedding(
        torch.from_numpy(mat), metadata=labels, label_img=torch.from_numpy(images), tag="clusters"
    )
    writer.close()


@pytest.fixture
def board(tmp_path: Path, serve: Callable[..., Server]) -> Server:
    root = tmp_path / "logs"
    _write_logdir(root)
    return serve(root)


def _summary(ui: UI) -> dict[str, Any]:
    text = ui.page.get_by_test_id("projector-stage").get_attribute("data-summary") or "{}"
    summary: dict[str, Any] = json.loads(text)
    return summary


def _wait_done(ui: UI, method: str, dims: int = 2, unlike: str | None = None) -> dict[str, Any]:
    """Until the stage shows a finished ``method`` projection of every point; its summary.

    ``unlike``: the checksum of the picture before, which the new one must not have. The stage
    names the new method at once but says "running" only a frame later, so just after a click
    it still reads "done" over the previous picture.
    """
    ui.page.wait_for_function(
        """([method, dims, n, unlike]) => {
          const s = document.querySelector('[data-testid=projector-stage]');
          return s && s.dataset.method === method && s.dataset.status === 'done' &&
            s.dataset.dims === String(dims) && s.dataset.points === String(n) &&
            (unlike === null || JSON.parse(s.dataset.summary || '{}').checksum !== unlike);
        }""",
        arg=[method, dims, 3 * PER_CLUSTER, unlike],
        timeout=60_000,
    )
    ui.settle()
    ui.settle()
    return _summary(ui)


def _pixels(ui: UI, shot: str) -> np.ndarray:
    png = ui.page.get_by_test_id("projector-canvas").screenshot()
    (ARTIFACTS / f"{ui.name}-{shot}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _open(ui: UI, board: Server) -> None:
    ui.open(board.base + "?tab=projector")
    expect(ui.page.get_by_test_id("projector-shape")).to_have_text("900 points × 32 dimensions")


def _point_on_screen(ui: UI, index: int) -> tuple[float, float]:
    stage = ui.page.get_by_test_id("projector-stage")
    box = stage.bounding_box()
    assert box is not None
    at = stage.evaluate(f"(el) => el.scatter.screenOf({index})")
    assert at is not None
    return box["x"] + at[0], box["y"] + at[1]


def test_projections_draw_separated_clusters(ui: UI, board: Server) -> None:
    _open(ui, board)
    pca = _wait_done(ui, "pca")
    assert set(pca["centroids"]) == set(LABELS)
    assert pca["separation"] > 3, pca
    variance = ui.page.get_by_test_id("projector-variance").inner_text()
    assert "Total variance described" in variance
    # Sprites are on by default (thumbnails: pure red, green, blue squares).
    sprites = _pixels(ui, "pca-sprites")
    assert color_pixels(sprites, (255, 0, 0), tol=40) > 200
    assert color_pixels(sprites, (0, 0, 255), tol=40) > 200
    # Without sprites, each cluster is drawn in its category's colour.
    ui.page.get_by_test_id("projector-sprites").uncheck()
    ui.settle()
    ui.settle()
    image = _pixels(ui, "pca")
    for label, color in COLORS.items():
        assert color_pixels(image, color, tol=20) > 300, label
    legend = ui.page.get_by_test_id("projector-legend")
    expect(legend).to_contain_text("alpha")
    assert rgb(legend.locator(".projector__swatch").first.evaluate(
        "(el) => getComputedStyle(el).backgroundColor")) == COLORS["alpha"]  # fmt: skip

    # t-SNE, few iterations: another picture, clusters apart.
    ui.page.get_by_test_id("projector-method-tsne").click()
    ui.page.get_by_test_id("projector-iterations").fill("300")
    tsne = _wait_done(ui, "tsne", unlike=pca["checksum"])
    assert tsne["checksum"] != pca["checksum"]
    assert tsne["separation"] > 3, tsne
    expect(ui.page.get_by_test_id("projector-status")).to_contain_text("300 / 300")
    after_tsne = _pixels(ui, "tsne")
    for label, color in COLORS.items():
        assert color_pixels(after_tsne, color, tol=20) > 200, label

    # UMAP, few epochs, in 3D.
    ui.page.get_by_test_id("projector-method-umap").click()
    ui.page.get_by_test_id("projector-epochs").fill("100")
    ui.page.get_by_test_id("projector-dims-3").click()
    umap = _wait_done(ui, "umap", dims=3, unlike=tsne["checksum"])
    assert umap["checksum"] not in (pca["checksum"], tsne["checksum"])
    assert umap["separation"] > 3, umap
    _pixels(ui, "umap-3d")
    ui.screenshot("umap")


def test_search_select_and_neighbors(ui: UI, board: Server) -> None:
    _open(ui, board)
    _wait_done(ui, "pca")
    ui.page.get_by_test_id("projector-sprites").uncheck()
    # Search highlights the matches: labels appear over the canvas.
    ui.page.get_by_test_id("projector-search").fill("bet")
    expect(ui.page.get_by_test_id("projector-match-count")).to_contain_text("300 matches")
    ui.settle()
    ui.settle()
    labels = ui.page.locator(".projector__label")
    assert labels.count() >= 20
    assert set(labels.all_inner_texts()) == {"beta"}
    ui.page.get_by_test_id("projector-regex").check()
    ui.page.get_by_test_id("projector-search").fill("^(alpha|gamma)$")
    expect(ui.page.get_by_test_id("projector-match-count")).to_contain_text("600 matches")
    ui.page.get_by_test_id("projector-search").fill("(")
    expect(ui.page.get_by_text("invalid regular expression")).to_be_visible()
    ui.page.get_by_test_id("projector-search").fill("")

    # Click a point of the gamma cluster: its neighbours are gammas, nearest first.
    x, y = _point_on_screen(ui, 2 * PER_CLUSTER + 7)
    ui.page.mouse.move(x, y)
    expect(ui.page.get_by_test_id("projector-hover")).to_have_text("gamma")
    ui.page.mouse.click(x, y)
    expect(ui.page.get_by_test_id("projector-selected")).to_have_text("gamma")
    neighbors = ui.page.get_by_test_id("projector-neighbors").locator("li")
    expect(neighbors).to_have_count(10)
    assert set(neighbors.locator("button").all_inner_texts()) == {"gamma"}
    distances = [float(t) for t in neighbors.locator(".projector__distance").all_inner_texts()]
    assert distances == sorted(distances)
    ui.page.get_by_test_id("projector-distance-euclidean").check()
    ui.page.get_by_test_id("projector-neighbor-count").fill("25")
    expect(neighbors).to_have_count(25)
    assert set(neighbors.locator("button").all_inner_texts()) == {"gamma"}
    ui.settle()
    ui.screenshot("neighbors")

    # Isolate: only the selection and its neighbours (all gamma) stay drawn.
    _pixels(ui, "before-isolate")
    ui.page.get_by_test_id("projector-isolate").click()
    ui.settle()
    ui.settle()
    isolated = _pixels(ui, "isolated")
    assert color_pixels(isolated, COLORS["alpha"], tol=20) == 0
    ui.page.get_by_test_id("projector-show-all").click()
    ui.page.get_by_test_id("projector-clear").click()
    expect(ui.page.get_by_test_id("projector-neighbors")).to_have_count(0)

    # Box selection (shift-drag) over the whole canvas selects every point.
    box = ui.page.get_by_test_id("projector-stage").bounding_box()
    assert box is not None
    ui.page.keyboard.down("Shift")
    ui.page.mouse.move(box["x"] + 2, box["y"] + 40)
    ui.page.mouse.down()
    ui.page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    ui.page.mouse.up()
    ui.page.keyboard.up("Shift")
    expect(ui.page.get_by_test_id("projector-selected")).to_contain_text("points selected")


def test_torch_run_dark_mode_and_live_update(ui: UI, board: Server, tmp_path: Path) -> None:
    _open(ui, board)
    _wait_done(ui, "pca")
    ui.page.get_by_test_id("projector-run").select_option("torch")
    expect(ui.page.get_by_test_id("projector-tensor")).to_have_value("clusters:00000")
    summary = _wait_done(ui, "pca")
    assert summary["separation"] > 3
    light = _pixels(ui, "light")
    ui.page.get_by_test_id("dark-mode").select_option("dark")
    ui.settle()
    ui.settle()
    dark = _pixels(ui, "dark")
    corner_light, corner_dark = light[-5, -5], dark[-5, -5]
    assert int(corner_dark.sum()) < int(corner_light.sum()) - 300

    # A new embedding written while the page is open appears in the tensor picker.
    mat, labels, _ = _clusters(seed=1)
    with SummaryWriter(str(tmp_path / "logs" / "lumi")) as writer:
        writer.add_embedding(mat[:50], metadata=labels[:50], tag="late", global_step=9)
    ui.page.get_by_test_id("projector-run").select_option("lumi")
    tensor = ui.page.get_by_test_id("projector-tensor")
    expect(tensor.locator("option")).to_have_count(2, timeout=30_000)
    tensor.select_option("late:00009")
    expect(ui.page.get_by_test_id("projector-shape")).to_have_text("50 points × 32 dimensions")


def test_empty_state_names_add_embedding(
    ui: UI, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    with SummaryWriter(str(tmp_path / "only_scalars")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    board = serve(tmp_path)
    ui.open(board.base + "?tab=projector")
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_contain_text("No embeddings yet")
    expect(empty).to_contain_text("add_embedding")
