"""The Graphs dashboard in a real browser: a model with nested submodules, logged by lumiboard's
``add_graph`` and by ``torch.utils.tensorboard``, laid out (elkjs in a worker) and explored.

Checked on what is drawn: the SVG's metanodes and their boxes (distinct, not overlapping),
expanding a metanode, search (selects, opens the parents, highlights), the info panel, trace
inputs, colour-by fills, the PNG download, dark mode, the empty state and a graph that appears
while the page is open.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from e2e_support import ARTIFACTS, UI, Server
from PIL import Image
from playwright.sync_api import expect
from torch.utils import tensorboard as torch_tb

from lumiboard import SummaryWriter


class Block(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(8, 8)
        self.act = torch.nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(x)) + x


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = Block()
        self.mid = Block()
        self.dec = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.Tanh())
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dec(self.mid(self.enc(x))))


def _write_graphs(root: Path) -> None:
    net = Net()
    with SummaryWriter(str(root / "lumi")) as writer:
        writer.add_graph(net, torch.zeros(1, 8))
        writer.add_scalar("loss", 1.0, 0)
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    writer.add_graph(net, torch.zeros(1, 8))
    writer.close()


def _url(server: Server, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"tab": "graphs", **params}.items())
    return f"{server.url}{'&' if '?' in server.url else '?'}{query}"


def _nodes(ui: UI) -> list[dict[str, Any]]:
    """Every drawn node: name, kind, expanded, fill and its box on screen."""
    result: list[dict[str, Any]] = ui.page.locator("[data-testid=graph-node]").evaluate_all(
        """(els) => els.map((el) => {
            const r = el.querySelector('rect').getBoundingClientRect();
            return {name: el.dataset.name, kind: el.dataset.kind,
                    expanded: el.dataset.expanded === 'true',
                    selected: el.classList.contains('graph-node--selected'),
                    fill: getComputedStyle(el.querySelector('rect')).fill,
                    box: [r.x, r.y, r.width, r.height]};
        })"""
    )
    return result


def _wait_layout(ui: UI, expected_names: set[str] | None = None) -> list[dict[str, Any]]:
    ui.page.get_by_test_id("graph-layout-done").wait_for()
    if expected_names is not None:
        ui.page.wait_for_function(
            """(names) => names.every((n) =>
                document.querySelector(`[data-testid=graph-node][data-name="${CSS.escape(n)}"]`))""",
            arg=sorted(expected_names),
        )
        ui.page.get_by_test_id("graph-layout-done").wait_for()
    ui.settle()
    return _nodes(ui)


def _overlap(a: list[float], b: list[float]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw - 0.5 and bx < ax + aw - 0.5 and ay < by + bh - 0.5 and by < ay + ah - 0.5


def _assert_laid_out(nodes: list[dict[str, Any]]) -> None:
    """Collapsed items sit at distinct places and never overlap (boxes may hold them)."""
    items = [n for n in nodes if not n["expanded"]]
    assert len({(round(n["box"][0]), round(n["box"][1])) for n in items}) == len(items)
    for i, a in enumerate(items):
        assert min(a["box"][2], a["box"][3]) > 10, a
        for b in items[i + 1 :]:
            assert not _overlap(a["box"], b["box"]), (a["name"], b["name"])


@pytest.fixture
def graph_board(tmp_path: Path, serve: Any) -> Server:
    root = tmp_path / "logs"
    _write_graphs(root)
    server: Server = serve(root)
    return server


@pytest.mark.parametrize("run", ["lumi", "torch"])
def test_metanodes_expand_and_lay_out(ui: UI, graph_board: Server, run: str) -> None:
    ui.open(_url(graph_board))
    ui.page.get_by_test_id("graph-run").select_option(run)
    nodes = _wait_layout(ui, {"input", "Net", "output"})
    assert sorted(n["name"] for n in nodes) == ["Net", "input", "output"]
    assert all(n["kind"] == "meta" and not n["expanded"] for n in nodes)
    _assert_laid_out(nodes)
    edges = ui.page.get_by_test_id("graph-edge")
    assert edges.count() >= 2
    # Inputs at the bottom, as TensorBoard draws: input below Net below output.
    y = {n["name"]: n["box"][1] for n in nodes}
    assert y["input"] > y["Net"] > y["output"]

    ui.page.locator("[data-testid=graph-node][data-name=Net]").dblclick()
    children = {"Net/Block[enc]", "Net/Block[mid]", "Net/Sequential[dec]", "Net/Linear[head]"}
    nodes = _wait_layout(ui, children)
    names = {n["name"] for n in nodes}
    assert children <= names
    net = next(n for n in nodes if n["name"] == "Net")
    assert net["expanded"]
    # The expanded metanode is a box drawn around its children.
    nx, ny, nw, nh = net["box"]
    for child in (n for n in nodes if n["name"] in children):
        cx, cy, cw, ch = child["box"]
        assert nx <= cx
        assert cx + cw <= nx + nw + 0.5
        assert ny <= cy
        assert cy + ch <= ny + nh + 0.5
    _assert_laid_out(nodes)
    # Edges fold parallel tensors into one with a count, and carry shapes as labels.
    labels = ui.page.locator("[data-testid=graph-edge] text").all_text_contents()
    assert "1×8" in labels
    ui.screenshot(f"{run}-expanded")

    # Collapse again with the metanode's button.
    ui.page.locator("[data-testid=graph-node][data-name=Net] [data-testid=graph-toggle]").click()
    nodes = _wait_layout(ui)
    ui.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=graph-node]').length === 3"
    )


def test_search_info_trace_and_colors(ui: UI, graph_board: Server) -> None:
    ui.open(_url(graph_board))
    _wait_layout(ui, {"Net"})
    search = ui.page.get_by_test_id("graph-search")
    search.fill(r"mid\]/Linear\[fc\]/input")
    hits = ui.page.get_by_test_id("graph-search-hit")
    expect(hits).to_have_count(1)
    target = hits.first.get_attribute("title")
    assert target is not None
    assert target.endswith(tuple("0123456789"))
    hits.first.click()
    selected = ui.page.locator(f'[data-testid=graph-node][data-name="{target}"]')
    expect(selected).to_have_class("graph-node graph-node--op graph-node--selected")
    nodes = _wait_layout(ui, {target})
    expanded = {n["name"] for n in nodes if n["expanded"]}
    assert {"Net", "Net/Block[mid]", "Net/Block[mid]/Linear[fc]"} <= expanded
    # Centred in the view.
    box = next(n["box"] for n in nodes if n["name"] == target)
    view = ui.page.get_by_test_id("graph-svg").bounding_box()
    assert view is not None
    centre = (box[0] + box[2] / 2, box[1] + box[3] / 2)
    assert abs(centre[0] - (view["x"] + view["width"] / 2)) < 40
    assert abs(centre[1] - (view["y"] + view["height"] / 2)) < 40
    _assert_laid_out(nodes)
    # The info panel shows the op, shape and inputs.
    expect(ui.page.get_by_test_id("graph-info-name")).to_have_text(target)
    expect(ui.page.get_by_test_id("graph-info-op")).to_have_text("aten::linear")
    expect(ui.page.get_by_test_id("graph-info-shapes")).to_have_text("1×8")
    expect(ui.page.get_by_test_id("graph-info-memory")).to_have_text("32 B")
    assert ui.page.get_by_test_id("graph-info-inputs").locator("li").count() == 3

    # Trace inputs: the selected node's inputs stay bright, the rest is dimmed.
    ui.page.get_by_test_id("graph-trace").check()
    dimmed = ui.page.locator("[data-testid=graph-node].graph-dim")
    traced = ui.page.locator("[data-testid=graph-node].graph-node--traced")
    expect(traced.first).to_be_visible()
    assert dimmed.count() > 0
    traced_names = traced.evaluate_all("(els) => els.map((e) => e.dataset.name)")
    assert "input" in traced_names
    assert "output" not in traced_names
    assert ui.page.locator("[data-testid=graph-edge].graph-edge--traced").count() >= 2
    ui.screenshot("traced")
    ui.page.get_by_test_id("graph-trace").uncheck()

    # Colour by: structure gives the two Blocks one colour; memory a ramp; none no fill.
    ui.page.locator(
        "[data-testid=graph-node][data-name='Net/Block[mid]'] [data-testid=graph-toggle]"
    ).click()
    _wait_layout(ui, {"Net/Block[enc]"})
    ui.page.wait_for_function(
        """() => !document.querySelector(
            '[data-testid=graph-node][data-name="Net/Block[mid]"][data-expanded=true]')"""
    )
    nodes = _nodes(ui)
    fills = {n["name"]: n["fill"] for n in nodes}
    assert fills["Net/Block[enc]"] == fills["Net/Block[mid]"]
    assert fills["Net/Block[enc]"] != fills["Net/Sequential[dec]"]
    expect(ui.page.get_by_test_id("graph-legend")).to_contain_text("same structure")
    ui.page.get_by_test_id("graph-color").select_option("memory")
    expect(ui.page.get_by_test_id("graph-legend")).to_contain_text("Memory")
    ui.settle()
    memory = {n["name"]: n["fill"] for n in _nodes(ui)}
    assert memory != fills
    assert len(set(memory.values())) >= 3  # a ramp over the metanodes' memory
    ui.screenshot("memory")
    ui.page.get_by_test_id("graph-color").select_option("none")
    ui.settle()
    plain = {n["name"]: n["fill"] for n in _nodes(ui) if n["kind"] == "meta" and not n["expanded"]}
    assert len(set(plain.values())) == 1
    # Compute time needs recorded times: torch's stats have none.
    assert ui.page.locator("[data-testid=graph-color] option[value=compute]").is_disabled()


def test_fit_pan_zoom_and_png(ui: UI, graph_board: Server) -> None:
    ui.open(_url(graph_board))
    _wait_layout(ui, {"Net"})
    ui.page.locator("[data-testid=graph-node][data-name=Net]").dblclick()
    _wait_layout(ui, {"Net/Block[enc]"})
    scene = ui.page.get_by_test_id("graph-scene")
    before = scene.get_attribute("transform")
    svg = ui.page.get_by_test_id("graph-svg")
    box = svg.bounding_box()
    assert box is not None
    ui.page.mouse.move(box["x"] + 40, box["y"] + 40)
    ui.page.mouse.wheel(0, 400)
    ui.settle()
    zoomed = scene.get_attribute("transform")
    assert zoomed != before
    ui.page.mouse.down()
    ui.page.mouse.move(box["x"] + 140, box["y"] + 90, steps=5)
    ui.page.mouse.up()
    ui.settle()
    assert scene.get_attribute("transform") != zoomed
    ui.page.get_by_test_id("graph-fit").click()
    ui.settle()
    # Fitted: every node inside the view.
    for node in _nodes(ui):
        x, y, w, h = node["box"]
        assert box["x"] - 1 <= x <= x + w <= box["x"] + box["width"] + 1, node
        assert box["y"] - 1 <= y <= y + h <= box["y"] + box["height"] + 1, node

    with ui.page.expect_download() as download:
        ui.page.get_by_test_id("graph-download").click()
    path = download.value.path()
    assert download.value.suggested_filename == "lumi-graph.png"
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    (ARTIFACTS / "graphs-download.png").write_bytes(data)
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)
    background = image[0, 0]
    drawn = (np.abs(image - background).max(axis=2) > 24).sum()
    assert image.shape[0] > 200
    assert image.shape[1] > 100
    assert drawn > 2000  # boxes, labels and edges, not a blank canvas


def test_dark_mode(ui: UI, graph_board: Server) -> None:
    ui.open(_url(graph_board, darkMode="true"))
    _wait_layout(ui, {"Net"})
    background = ui.page.locator(".graphs__canvas").evaluate(
        "(el) => getComputedStyle(el).backgroundColor"
    )
    numbers = [int(float(v)) for v in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert max(numbers) < 80, background
    label = ui.page.locator("[data-testid=graph-node][data-name=Net] text").first
    color = label.evaluate("(el) => getComputedStyle(el).fill")
    assert color != "rgb(31, 35, 40)"  # not the light theme's text colour on a dark canvas
    ui.screenshot("dark")


def test_empty_state_then_live_graph(ui: UI, tmp_path: Path, serve: Any) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "only_scalars")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    server = serve(root)
    ui.open(_url(server))
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("add_graph(model, torch.zeros(1, 8))")
    ui.screenshot("empty")
    # A graph written while the page is open shows up at the next reload.
    with SummaryWriter(str(root / "later")) as writer:
        writer.add_graph(Net(), torch.zeros(1, 8))
    ui.page.wait_for_timeout(1500)  # the server reloads every second
    ui.page.get_by_test_id("reload-button").click()
    nodes = _wait_layout(ui, {"Net"})
    assert {n["name"] for n in nodes} == {"input", "Net", "output"}


class Scaled(torch.nn.Module):
    """Constants in the forward pass: torch traces them as prim::Constant nodes."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = Block()
        self.mid = Block()
        self.head = torch.nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mid(self.enc(x * 2.0 + 1.0))
        return self.head(y.clamp(-3.0, 3.0).reshape(1, -1))


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None
    return dict(box)


def test_minimap_expand_keeps_view_constants(ui: UI, tmp_path: Path, serve: Any) -> None:
    root = tmp_path / "logs"
    with SummaryWriter(str(root / "scaled")) as writer:
        writer.add_graph(Scaled(), torch.zeros(1, 8))
    ui.open(_url(serve(root)))
    _wait_layout(ui, {"Scaled"})

    # The minimap: the whole graph small, with the view as a rectangle inside it.
    minimap = ui.page.get_by_test_id("graph-minimap")
    expect(minimap).to_be_visible()
    mbox = _box(minimap)
    vbox = _box(ui.page.get_by_test_id("graph-minimap-viewport"))
    assert mbox["x"] - 1 <= vbox["x"], (mbox, vbox)
    assert vbox["x"] + vbox["width"] <= mbox["x"] + mbox["width"] + 1, (mbox, vbox)
    assert mbox["y"] - 1 <= vbox["y"], (mbox, vbox)
    assert vbox["y"] + vbox["height"] <= mbox["y"] + mbox["height"] + 1, (mbox, vbox)
    assert len(minimap.locator("rect").all()) >= 3

    # Expanding a metanode keeps it where it was on screen (no re-fit of the whole graph).
    steps = (("Scaled", "Scaled/Block[enc]"), ("Scaled/Block[enc]", "Scaled/Block[enc]/Linear[fc]"))
    for name, child in steps:
        node = ui.page.locator(f"[data-testid=graph-node][data-name='{name}']")
        if not node.is_visible() or _box(node)["y"] > ui.page.viewport_size["height"] - 40:  # type: ignore[index]
            # Off screen (a tall graph fits at a readable zoom): Search centres it.
            search = ui.page.get_by_test_id("graph-search")
            search.fill(re.escape(name) + "$")
            search.press("Enter")
            ui.settle()
        before = _box(node.locator("rect").first)
        node.dblclick()
        _wait_layout(ui, {child})
        after = _box(node.locator("rect").first)
        assert abs(after["x"] - before["x"]) < 4, (name, before, after)
        assert abs(after["y"] - before["y"]) < 4, (name, before, after)

    # torch constants are folded into their consumers: counted, not drawn.
    constants = ui.page.get_by_test_id("graph-constants")
    expect(constants).to_be_visible()
    assert int(constants.get_attribute("data-count") or 0) >= 4
    titles = ui.page.locator("[data-testid=graph-node] title").all_text_contents()
    assert titles
    assert not any("prim::Constant" in t for t in titles)
    # The consumer's info lists the constant with its value.
    mul = ui.page.locator("[data-testid=graph-node]").filter(
        has=ui.page.locator("title", has_text="aten::mul")
    )
    mul.first.dispatch_event("click")
    expect(ui.page.get_by_test_id("graph-info-constant").first).to_contain_text("constant")

    # Fit: labels stay readable (>= 9 px tall on screen, or hidden with a note).
    ui.page.get_by_test_id("graph-fit").click()
    ui.settle()
    heights = ui.page.locator("[data-testid=graph-node] .graph-label").evaluate_all(
        "(els) => els.map((el) => el.getBoundingClientRect().height).filter((h) => h > 0)"
    )
    assert heights
    assert min(heights) >= 9, heights

    # Clicking the minimap's corner pans the main view there.
    transform = ui.page.get_by_test_id("graph-scene").get_attribute("transform")
    mbox = _box(minimap)
    ui.page.mouse.click(mbox["x"] + 3, mbox["y"] + 3)
    ui.settle()
    assert ui.page.get_by_test_id("graph-scene").get_attribute("transform") != transform
    ui.screenshot("graphs-minimap")
