"""The Mesh dashboard in chromium (WebGL through SwiftShader): what the three.js views draw.

The log directory holds a solid written by lumiboard's SummaryWriter (an octahedron with faces,
no colours: drawn lit in the run's colour) and a coloured point cloud written by torch's
(half pure red, half pure green), each at two steps that look different.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import (
    ARTIFACTS,
    UI,
    Server,
    chromatic,
    color_pixels,
    differing,
    non_background,
    rgb,
)
from PIL import Image
from playwright.sync_api import Locator, expect

from lumiboard import SummaryWriter

RED = (255, 0, 0)
GREEN = (0, 200, 0)


def _octahedron(step: int) -> tuple[np.ndarray, np.ndarray]:
    vertices = np.array(
        [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float32
    )
    if step:  # stretched along y and turned 45° about it: another silhouette
        turn = math.pi / 4
        rotation = np.array(
            [[math.cos(turn), 0, math.sin(turn)], [0, 1, 0], [-math.sin(turn), 0, math.cos(turn)]]
        )
        vertices = (vertices * [1, 1.8, 1]) @ rotation.T
    faces = np.array(
        [[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]],
        dtype=np.int32,
    )
    return vertices[None].astype(np.float32), faces[None]


def _cloud(step: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(step)
    points = rng.normal(size=(n, 3))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    if step:  # a flat, wide disc instead of a sphere
        points *= [1.6, 0.25, 1.6]
    colors = np.where(points[:, :1] > 0, RED, GREEN).astype(np.uint8)
    return points[None].astype(np.float32), colors[None]


def _write_logdir(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in range(2):
            vertices, faces = _octahedron(step)
            writer.add_mesh("solid", vertices, faces=faces, global_step=step)
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    torch = pytest.importorskip("torch")
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in range(2):
        vertices, colors = _cloud(step)
        writer.add_mesh(
            "cloud",
            torch.from_numpy(vertices),
            colors=torch.from_numpy(colors),
            global_step=step,
        )
    writer.close()


def _card(ui: UI, tag: str) -> Locator:
    return ui.page.locator(f"[data-testid=mesh-card][data-tag='{tag}']")


def _wait_drawn(ui: UI, tag: str, step: int, renders_above: int = 0) -> None:
    """Until the card shows ``step`` and has drawn a frame since ``renders_above``."""
    ui.page.wait_for_function(
        """([tag, step, above]) => {
          const card = document.querySelector(`[data-testid=mesh-card][data-tag='${tag}']`);
          const view = card?.querySelector('[data-testid=mesh-view]');
          const gl = card?.querySelector('[data-testid=mesh-gl]');
          return view?.dataset.loadedStep === String(step) &&
            Number(gl?.dataset.renders ?? 0) > above;
        }""",
        arg=[tag, step, renders_above],
    )
    ui.settle()


def _renders(ui: UI, tag: str) -> int:
    gl = _card(ui, tag).get_by_test_id("mesh-gl")
    return int(gl.get_attribute("data-renders") or 0)


def _pixels(ui: UI, tag: str, shot: str) -> np.ndarray:
    """The card's WebGL canvas as shown (RGB), saved as a screenshot too."""
    png = _card(ui, tag).get_by_test_id("mesh-canvas").screenshot()
    (ARTIFACTS / f"{ui.name}-{shot}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def _background(ui: UI, tag: str) -> tuple[int, int, int]:
    view = _card(ui, tag).get_by_test_id("mesh-view")
    return rgb(view.evaluate("(el) => getComputedStyle(el).backgroundColor"))


def _drag(ui: UI, tag: str, dx: float, dy: float) -> None:
    box = _card(ui, tag).get_by_test_id("mesh-canvas").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    ui.page.mouse.move(x, y)
    ui.page.mouse.down()
    ui.page.mouse.move(x + dx, y + dy, steps=12)
    ui.page.mouse.up()


@pytest.fixture
def board(tmp_path: Path, serve: Callable[..., Server]) -> Server:
    root = tmp_path / "logs"
    _write_logdir(root)
    return serve(root)


def test_mesh_cards_draw_steps_orbit_and_share_the_viewpoint(ui: UI, board: Server) -> None:
    ui.open(board.base + "?tab=mesh")
    expect(ui.page.get_by_test_id("mesh-card")).to_have_count(2)
    for tag in ("cloud", "solid"):
        _wait_drawn(ui, tag, step=1)  # the newest step first
    expect(_card(ui, "solid").get_by_test_id("mesh-counts")).to_have_text("6 vertices · 8 faces")
    expect(_card(ui, "cloud").get_by_test_id("mesh-counts")).to_have_text("3,000 vertices")

    # The cloud: many drawn pixels, in the written colours.
    background = _background(ui, "cloud")
    cloud = _pixels(ui, "cloud", "cloud-step1")
    assert non_background(cloud, background) > 3000
    assert color_pixels(cloud, RED, tol=10) > 500
    assert color_pixels(cloud, GREEN, tol=10) > 500
    # The solid: lit faces in the run's colour (shaded, so chromatic rather than one colour).
    solid = _pixels(ui, "solid", "solid-step1")
    assert non_background(solid, background) > 8000
    assert chromatic(solid, min_chroma=40) > 5000

    # The step slider goes back to step 0: another picture.
    renders = _renders(ui, "cloud")
    _card(ui, "cloud").get_by_test_id("mesh-step").fill("0")
    _wait_drawn(ui, "cloud", step=0, renders_above=renders)
    expect(_card(ui, "cloud").get_by_test_id("mesh-step-label")).to_contain_text("step 0")
    cloud0 = _pixels(ui, "cloud", "cloud-step0")
    assert differing(cloud, cloud0) > 2000
    assert color_pixels(cloud0, RED, tol=10) > 500

    # Independent cameras: dragging the cloud orbits it and leaves the solid alone.
    renders = _renders(ui, "cloud")
    _drag(ui, "cloud", 140, 50)
    _wait_drawn(ui, "cloud", step=0, renders_above=renders)
    orbited = _pixels(ui, "cloud", "cloud-orbited")
    assert differing(cloud0, orbited) > 2000
    assert differing(solid, _pixels(ui, "solid", "solid-unmoved")) < 50

    # Reset view fits the camera to this step's cloud; after another drag it comes back to it.
    renders = _renders(ui, "cloud")
    _card(ui, "cloud").get_by_test_id("reset-view").click()
    _wait_drawn(ui, "cloud", step=0, renders_above=renders)
    reset = _pixels(ui, "cloud", "cloud-reset")
    assert differing(orbited, reset) > 2000
    renders = _renders(ui, "cloud")
    _drag(ui, "cloud", 60, -80)
    _wait_drawn(ui, "cloud", step=0, renders_above=renders)
    renders = _renders(ui, "cloud")
    _card(ui, "cloud").get_by_test_id("reset-view").click()
    _wait_drawn(ui, "cloud", step=0, renders_above=renders)
    assert differing(reset, _pixels(ui, "cloud", "cloud-reset-again")) < 50

    # Shared viewpoint: a drag in the cloud's card moves the solid's camera too.
    ui.page.get_by_test_id("pov-shared").click()
    expect(ui.page.get_by_test_id("pov-shared")).to_have_attribute("aria-pressed", "true")
    renders = _renders(ui, "solid")
    _drag(ui, "cloud", -160, 90)
    _wait_drawn(ui, "solid", step=1, renders_above=renders)
    shared = _pixels(ui, "solid", "solid-shared")
    assert differing(solid, shared) > 2000
    ui.screenshot("shared")


def test_dark_mode_background_and_bad_faces(
    ui: UI, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    root = tmp_path / "odd"
    vertices, faces = _octahedron(0)
    bad = faces.copy()
    bad[0, 0] = [0, 2, 99]  # out of range: skipped, the 7 others drawn
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_mesh("broken", vertices, faces=bad, global_step=0)
    board = serve(root)
    ui.open(board.base + "?tab=mesh")
    _wait_drawn(ui, "broken", step=0)
    expect(_card(ui, "broken").get_by_test_id("mesh-dropped")).to_contain_text("1 face")
    expect(_card(ui, "broken").get_by_test_id("mesh-counts")).to_have_text("6 vertices · 7 faces")

    light = _background(ui, "broken")
    renders = _renders(ui, "broken")
    ui.page.get_by_test_id("dark-mode").select_option("dark")
    _wait_drawn(ui, "broken", step=0, renders_above=renders)
    dark = _background(ui, "broken")
    assert sum(dark) < sum(light) - 300
    image = _pixels(ui, "broken", "dark")
    corner = tuple(int(c) for c in image[3, 3])
    assert max(abs(a - b) for a, b in zip(corner, dark, strict=True)) <= 3, (corner, dark)
    assert non_background(image, dark) > 5000


def test_empty_state_names_add_mesh(ui: UI, tmp_path: Path, serve: Callable[..., Server]) -> None:
    root = tmp_path / "scalars_only"
    with SummaryWriter(str(root / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    board = serve(root)
    ui.open(board.base + "?tab=mesh")
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_contain_text("No meshes yet")
    expect(empty).to_contain_text(
        'writer.add_mesh("cloud", vertices=v, colors=c, global_step=step)'
    )


def test_without_webgl_a_notice_not_an_exception(ui: UI, board: Server) -> None:
    ui.page.add_init_script(
        """(() => {
          const original = HTMLCanvasElement.prototype.getContext;
          HTMLCanvasElement.prototype.getContext = function (kind, ...rest) {
            return /webgl/.test(kind) ? null : original.call(this, kind, ...rest);
          };
        })()"""
    )
    ui.open(board.base + "?tab=mesh")
    expect(ui.page.get_by_test_id("webgl-missing")).to_have_count(2)
    expect(ui.page.get_by_test_id("webgl-missing").first).to_contain_text("WebGL is not available")
    expect(ui.page.get_by_test_id("mesh-canvas")).to_have_count(0)
    # The rest of the card still works: counts come from the data, the slider moves.
    expect(_card(ui, "cloud").get_by_test_id("mesh-counts")).to_have_text("3,000 vertices")


def test_many_cards_draw_with_a_bounded_number_of_webgl_contexts(
    ui: UI, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    """24 cards on one page: each draws when scrolled to, yet few hold a WebGL context at once.

    Chrome allows a page ~16 contexts and silently drops the oldest past that, which left blank
    cards; the cards now free theirs off screen and at most 8 are live.
    """
    root = tmp_path / "many"
    rng = np.random.default_rng(0)
    tags = [f"group{i // 8}/cloud{i % 8}" for i in range(24)]
    with SummaryWriter(str(root / "run")) as writer:
        for tag in tags:
            points = rng.normal(size=(1, 400, 3)).astype(np.float32)
            writer.add_mesh(tag, points, global_step=0)
    board = serve(root)
    ui.page.add_init_script(
        "localStorage.setItem('lumiboard.settings', JSON.stringify({pageSize: 100}))"
    )
    ui.open(board.base + "?tab=mesh")
    expect(ui.page.get_by_test_id("mesh-card")).to_have_count(24)
    # The most contexts live at once, sampled every frame while the test scrolls.
    ui.page.evaluate(
        """() => {
          window.__maxLive = 0;
          const sample = () => {
            const live = document.querySelectorAll('[data-testid=mesh-gl][data-gl=live]').length;
            window.__maxLive = Math.max(window.__maxLive, live);
            requestAnimationFrame(sample);
          };
          sample();
        }"""
    )

    def live() -> int:
        return ui.page.locator("[data-testid=mesh-gl][data-gl=live]").count()

    def check_drawn(tag: str, renders_above: int = 0) -> None:
        card = _card(ui, tag)
        card.scroll_into_view_if_needed()
        _wait_drawn(ui, tag, step=0, renders_above=renders_above)
        expect(card.get_by_test_id("mesh-gl")).to_have_attribute("data-gl", "live")
        png = card.get_by_test_id("mesh-view").screenshot()
        image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
        assert non_background(image, _background(ui, tag)) > 300, tag
        assert live() <= 8

    for tag in tags:
        check_drawn(tag)
    ui.screenshot("many-bottom")
    # The first cards, far above, gave their contexts back...
    expect(_card(ui, tags[0]).get_by_test_id("mesh-gl")).to_have_attribute("data-gl", "released")
    expect(_card(ui, tags[0]).get_by_test_id("mesh-canvas")).to_have_count(0)
    # ...and draw again, from where their camera was, when scrolled back to.
    before = {tag: _renders(ui, tag) for tag in tags[:6]}
    for tag in reversed(tags[:6]):
        check_drawn(tag, renders_above=before[tag])
    assert ui.page.evaluate("window.__maxLive") <= 8

    # A context the browser takes away is made again: no blank card.
    tag = tags[0]
    renders = _renders(ui, tag)
    _card(ui, tag).get_by_test_id("mesh-canvas").evaluate(
        "(c) => (c.getContext('webgl2') ?? c.getContext('webgl'))"
        ".getExtension('WEBGL_lose_context').loseContext()"
    )
    check_drawn(tag, renders_above=renders)
    expect(_card(ui, tag).get_by_test_id("mesh-lost")).to_have_count(0)
    ui.screenshot("many-top")

    # More cards on screen than live contexts: those the pool took keep their last frame.
    ui.page.set_viewport_size({"width": 1400, "height": 3200})
    ui.page.locator(".mesh").evaluate("(el) => { el.scrollTop = 0; }")
    ui.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=mesh-snapshot]:not([hidden])').length > 0"
    )
    ui.settle()
    assert live() <= 8
    tops = {t: _card(ui, t).get_by_test_id("mesh-view").bounding_box() for t in tags}
    on_screen = [t for t, box in tops.items() if box is not None and box["y"] < 3000]
    assert len(on_screen) > 8
    for tag in on_screen:
        png = _card(ui, tag).get_by_test_id("mesh-view").screenshot()
        image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)
        assert non_background(image, _background(ui, tag)) > 300, tag
    ui.screenshot("many-tall")
    assert ui.page.evaluate("window.__maxLive") <= 8
