"""The HParams dashboard in a real browser: a sweep written by ``lumiboard.hparams`` and one by
torch's ``add_hparams``; table, filters, sorting, parallel coordinates, scatter matrix,
session curves and the link with the runs panel."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import UI, Server, rgb
from playwright.sync_api import Locator, expect

from lumiboard import SummaryWriter, summary
from lumiboard import hparams as hp

#: name: (lr, optimizer, layers, final accuracy)
TRIALS = {
    "trial_0": (0.001, "adam", 2, 0.61),
    "trial_1": (0.01, "adam", 4, 0.83),
    "trial_2": (0.1, "sgd", 2, 0.72),
    "trial_3": (0.3, "sgd", 8, 0.55),
    "trial_4": (0.03, "rmsprop", 4, 0.9),
}


def write_lumiboard_sweep(root: Path) -> None:
    lr = hp.HParam("lr", hp.RealInterval(1e-4, 1.0))
    opt = hp.HParam("optimizer", hp.Discrete(["adam", "rmsprop", "sgd"]))
    layers = hp.HParam("layers", hp.IntInterval(1, 8))
    with summary.create_file_writer(str(root)).as_default():
        hp.hparams_config(
            [lr, opt, layers],
            [hp.Metric("accuracy", group="validation"), hp.Metric("loss")],
        )
    for name, (rate, optimizer, depth, accuracy) in TRIALS.items():
        with SummaryWriter(root / name) as writer:
            hp.hparams({lr: rate, opt: optimizer, layers: depth}, trial_id=name, writer=writer)
            for step in range(30):
                writer.add_scalar("loss", (1.0 - accuracy) * 3 / (1 + step / 5), step)
            hp.session_end("success", writer=writer)
        with SummaryWriter(root / name / "validation") as writer:
            for step in range(0, 30, 5):
                writer.add_scalar("accuracy", accuracy * (step + 5) / 30, step)
    # A session with hparams and no metrics still gets a row.
    with SummaryWriter(root / "no_metrics") as writer:
        hp.hparams({lr: 0.5, opt: "sgd", layers: 1}, trial_id="no_metrics", writer=writer)


def write_torch_sweep(root: Path) -> None:
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(root))
    for index, (rate, optimizer, depth, accuracy) in enumerate(TRIALS.values()):
        writer.add_hparams(
            {"lr": rate, "optimizer": optimizer, "layers": depth},
            {"hparam/accuracy": accuracy, "hparam/loss": 1 - accuracy},
            run_name=f"torch_{index}",
        )
    writer.close()


def open_hparams(ui: UI, server: Server) -> None:
    ui.open(f"{server.url}?tab=hparams")
    ui.page.get_by_test_id("hp-table").wait_for()


def open_sweep(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> Locator:
    """The lumiboard sweep served and open in the HParams dashboard; its table's rows (6)."""
    logdir = tmp_path / "logs"
    write_lumiboard_sweep(logdir)
    open_hparams(ui, serve(logdir))
    rows = ui.page.get_by_test_id("hp-row")
    expect(rows).to_have_count(6)
    return rows


def table_runs(ui: UI) -> list[str]:
    return ui.page.get_by_test_id("hp-row").evaluate_all("els => els.map((e) => e.dataset.run)")


def test_lumiboard_sweep(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    write_lumiboard_sweep(logdir)
    server = serve(logdir)
    open_hparams(ui, server)
    page = ui.page
    rows = page.get_by_test_id("hp-row")
    expect(rows).to_have_count(len(TRIALS) + 1)
    expect(page.get_by_test_id("hp-count")).to_have_text("6 of 6 sessions")
    # Swatches carry the run colours.
    swatch = rows.first.get_by_test_id("hp-swatch")
    assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") != "rgba(0, 0, 0, 0)"

    # A discrete filter reduces the rows.
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=sgd]").click()
    expect(rows).to_have_count(3)
    assert "trial_2" not in table_runs(ui)
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=sgd]").click()
    expect(rows).to_have_count(6)

    # Sorting by a metric (header click) orders rows; missing values last.
    header = page.locator("[data-testid=hp-header][data-column='m:validation/accuracy']")
    header.click()
    by_accuracy = sorted(TRIALS, key=lambda name: TRIALS[name][3])
    expect(rows).to_have_count(6)
    assert table_runs(ui) == [*by_accuracy, "no_metrics"]
    header.click()
    assert table_runs(ui) == [*reversed(by_accuracy), "no_metrics"]

    # Expanding a row draws its scalar curves.
    page.locator("[data-testid=hp-row][data-run=trial_1] [data-testid=hp-expand]").click()
    charts = page.get_by_test_id("session-chart")
    expect(charts).to_have_count(2)
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid=session-chart] .hp-chart__plot')]
                 .every((el) => Number(el.dataset.points) > 0
                   && el.querySelector('[data-testid=chart-canvas]'))"""
    )
    ui.settle()
    ui.screenshot("table")

    # Parallel coordinates: one path per shown session; a brush reduces them.
    page.get_by_test_id("hp-tab-parallel").click()
    lines = page.get_by_test_id("hp-line")
    expect(lines).to_have_count(6)
    assert set(lines.evaluate_all("els => els.map((e) => e.dataset.session)")) == {
        *TRIALS,
        "no_metrics",
    }
    # Every drawn session with values on several axes is a real polyline.
    for d in lines.evaluate_all("els => els.map((e) => e.getAttribute('d'))"):
        assert d.count("L") >= 2, d
    hit = page.locator("[data-testid=hp-axis-hit]").nth(0)  # the lr axis (hparams first)
    box = hit.bounding_box()
    assert box is not None
    x = box["x"] + box["width"] / 2
    # From the axis' bottom up to 30% of it: lr in about [0.001, 0.15].
    page.mouse.move(x, box["y"] + box["height"] - 2)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.7, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("hp-brush")).to_have_count(1)
    brushed = lines.count()
    assert brushed == 4, brushed  # lr 0.001, 0.01, 0.03 and 0.1
    # The brush is the shared filter: the table shows the same sessions.
    expect(page.get_by_test_id("hp-count")).to_have_text(f"{brushed} of 6 sessions")
    # Hovering a line highlights it and shows its values.
    svg_box = page.get_by_test_id("hp-parallel-svg").bounding_box()
    assert svg_box is not None
    d = lines.first.get_attribute("d") or ""
    # Halfway along its first segment (the vertices lie under the axes' brush handles).
    (x0, y0), (x1, y1) = ([float(v) for v in p.split(",")] for p in d[1:].split("L")[:2])
    page.mouse.move(svg_box["x"] + (x0 + x1) / 2, svg_box["y"] + (y0 + y1) / 2)
    expect(page.get_by_test_id("hp-tooltip")).to_be_visible()
    expect(page.locator("[data-testid=hp-line].hp-line--on")).to_have_count(1)
    ui.screenshot("parallel")
    # A click on the axis clears the brush.
    page.mouse.click(x, box["y"] + box["height"] * 0.2)
    expect(lines).to_have_count(6)

    # Log and quantile scales keep every line drawn.
    page.locator("[data-testid=hp-scale][data-column='h:lr']").select_option("log")
    expect(lines).to_have_count(6)
    page.locator("[data-testid=hp-scale][data-column='h:lr']").select_option("quantile")
    expect(lines).to_have_count(6)

    # Scatter matrix: (hparams + metrics) x hparams, a dot per session with both values; hover
    # links plots.
    page.get_by_test_id("hp-tab-scatter").click()
    cells = page.get_by_test_id("hp-cell")
    expect(cells).to_have_count((3 + 2) * 3)  # (hparams + metrics) x hparams
    dots = page.locator(
        "[data-testid=hp-cell][data-y='m:loss'][data-x='h:lr'] [data-testid=hp-dot]"
    )
    expect(dots).to_have_count(len(TRIALS))
    dots.first.hover()
    session = dots.first.get_attribute("data-session")
    highlighted = page.locator(f"[data-testid=hp-dot][data-session='{session}'].hp-dot--on")
    expect(highlighted).to_have_count(5 * 3)
    ui.screenshot("scatter")

    # "Select these runs" sets the runs panel's selection to the filtered sessions.
    page.get_by_test_id("hp-tab-table").click()
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=adam]").click()
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=rmsprop]").click()
    expect(rows).to_have_count(3)
    page.get_by_test_id("hp-select-runs").click()
    checked = page.locator("[data-testid=run-row]:has([data-testid=run-checkbox]:checked)")
    selected = checked.evaluate_all("els => els.map((e) => e.dataset.run)")
    assert sorted(selected) == [
        "no_metrics",
        "trial_2",
        "trial_2/validation",
        "trial_3",
        "trial_3/validation",
    ]
    # Deselecting a run in the panel hides its session.
    page.locator("[data-testid=run-row][data-run=trial_2] [data-testid=run-checkbox]").click()
    expect(rows).to_have_count(2)
    assert set(table_runs(ui)) == {"trial_3", "no_metrics"}


def test_a_bound_being_typed_survives_a_reload(
    ui: UI, serve: Callable[..., Server], tmp_path: Path
) -> None:
    """The app's auto-reload refreshes the table while a filter bound is being typed: the text
    stays as typed (a re-render once put the empty bound back), and applies on Enter."""
    rows = open_sweep(ui, serve, tmp_path)
    page = ui.page
    field = page.locator("[data-testid=hp-min][data-column='h:lr']")
    field.click()
    field.press_sequentially("0.005")
    ui.wait_reloads("/data/plugin/hparams/table")
    expect(field).to_have_value("0.005")
    field.press("Enter")
    expect(rows).to_have_count(5)
    assert set(table_runs(ui)) == {"trial_1", "trial_2", "trial_3", "trial_4", "no_metrics"}
    expect(field).to_have_value("0.005")


def test_deep_link_restores_query(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    """Filters, sort, hidden columns, colouring and the active view live in the URL (hp* keys):
    a reload, or the copied link in a fresh page, opens the same view."""
    rows = open_sweep(ui, serve, tmp_path)
    page = ui.page
    # The untouched dashboard writes nothing to the URL.
    assert "hp" not in page.evaluate("location.search").replace("hparams", "")

    # Filter: drop sgd (discrete), lr >= 0.005 (numeric min); sort by accuracy, descending;
    # hide the loss column; colour by lr; the parallel coordinates view.
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=sgd]").click()
    page.locator("[data-testid=hp-min][data-column='h:lr']").fill("0.005")
    page.locator("[data-testid=hp-min][data-column='h:lr']").press("Enter")
    expect(rows).to_have_count(2)
    header = page.locator("[data-testid=hp-header][data-column='m:validation/accuracy']")
    header.click()
    header.click()
    expected = ["trial_4", "trial_1"]  # accuracy 0.9, 0.83
    assert table_runs(ui) == expected
    page.locator("[data-testid=hp-column-toggle][data-column='m:loss']").uncheck()
    page.get_by_test_id("hp-color-by").select_option("h:lr")
    page.get_by_test_id("hp-tab-parallel").click()
    expect(page.get_by_test_id("hp-line")).to_have_count(2)
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('hpView') === 'parallel'"
    )
    params = page.evaluate("[...new URLSearchParams(location.search).entries()]")
    keys = {key for key, _ in params}
    assert {"hpView", "hpSort", "hpFilter", "hpHide", "hpColor"} <= keys, params
    assert ["hpSort", "-m:validation/accuracy"] in params, params
    link = page.url

    def assert_restored() -> None:
        expect(page.get_by_test_id("hp-tab-parallel")).to_have_attribute("aria-selected", "true")
        expect(page.get_by_test_id("hp-line")).to_have_count(2)
        expect(page.get_by_test_id("hp-count")).to_have_text("2 of 6 sessions")
        expect(page.get_by_test_id("hp-axis")).to_have_count(4)  # lr, optimizer, layers, accuracy
        expect(page.get_by_test_id("hp-color-by")).to_have_value("h:lr")
        expect(page.get_by_test_id("hp-sort-order")).to_have_value("desc")
        expect(page.locator("[data-testid=hp-min][data-column='h:lr']")).to_have_value("0.005")
        sgd = page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=sgd]")
        expect(sgd).not_to_be_checked()
        page.get_by_test_id("hp-tab-table").click()
        expect(rows).to_have_count(2)
        assert table_runs(ui) == expected

    page.reload()
    page.get_by_test_id("hp-parallel").wait_for()
    assert_restored()
    ui.screenshot("deep-link")

    # The shared link in a fresh page; back to the defaults clears the hp* keys.
    fresh = page.context.new_page()
    try:
        fresh.goto(link)
        fresh.get_by_test_id("hp-parallel").wait_for()
        expect(fresh.get_by_test_id("hp-line")).to_have_count(2)
        expect(fresh.get_by_test_id("hp-count")).to_have_text("2 of 6 sessions")
    finally:
        fresh.close()
    page.get_by_test_id("hp-tab-parallel").click()
    page.get_by_test_id("hp-tab-table").click()
    page.wait_for_function("() => !new URLSearchParams(location.search).has('hpView')")


def test_torch_add_hparams_sweep(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    write_torch_sweep(logdir)
    server = serve(logdir)
    open_hparams(ui, server)
    page = ui.page
    rows = page.get_by_test_id("hp-row")
    expect(rows).to_have_count(len(TRIALS))
    header = page.locator("[data-testid=hp-header][data-column='m:hparam/accuracy']")
    header.click()
    header.click()  # descending
    accuracies = page.locator("[data-testid=hp-row] td[data-column='m:hparam/accuracy']")
    values = [float(text) for text in accuracies.all_inner_texts()]
    assert values == sorted((t[3] for t in TRIALS.values()), reverse=True)
    page.get_by_test_id("hp-tab-parallel").click()
    expect(page.get_by_test_id("hp-line")).to_have_count(len(TRIALS))
    page.get_by_test_id("hp-color-by").select_option("m:hparam/accuracy")
    strokes = page.get_by_test_id("hp-line").evaluate_all(
        "els => els.map((e) => e.getAttribute('stroke'))"
    )
    assert len(set(strokes)) == len(TRIALS)
    ui.screenshot("torch-parallel")
    page.get_by_test_id("hp-tab-scatter").click()
    # (3 hparams + 2 metrics) rows x 3 hparam columns, a dot per trial in each.
    expect(page.get_by_test_id("hp-dot")).to_have_count(len(TRIALS) * (3 + 2) * 3)

    # Dark mode: the views use the theme's colours.
    ui.open(f"{server.url}?tab=hparams&darkMode=true")
    page.get_by_test_id("hp-tab-parallel").click()
    expect(page.get_by_test_id("hp-line")).to_have_count(len(TRIALS))
    panel = page.get_by_test_id("hp-parallel").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert sum(rgb(panel)) < 3 * 80, panel
    label = page.locator(".hp-axis__label").first.evaluate("el => getComputedStyle(el).fill")
    assert sum(rgb(label)) > 3 * 150, label
    ui.screenshot("torch-parallel-dark")


def test_empty_state(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    with SummaryWriter(logdir / "plain") as writer:
        writer.add_scalar("loss", 1.0, 0)
    server = serve(logdir)
    ui.open(f"{server.url}?tab=hparams")
    expect(ui.page.get_by_test_id("empty-state")).to_contain_text("hp.hparams")


def _listed(ui: UI) -> list[str]:
    return ui.page.get_by_test_id("run-row").evaluate_all("els => els.map((e) => e.dataset.run)")


def _cells(ui: UI, column: str) -> dict[str, str]:
    return ui.page.locator(f"[data-testid=run-cell][data-col='{column}']").evaluate_all(
        "els => Object.fromEntries(els.map((e) =>"
        " [e.closest('[data-run]').dataset.run, e.textContent]))"
    )


def test_runs_panel_hparam_columns(ui: UI, serve: Callable[..., Server], tmp_path: Path) -> None:
    """The runs panel shows hparam and metric columns, sorts and filters by them, and "only
    these" puts the filtered runs on the charts; the choice survives a reload."""
    logdir = tmp_path / "logs"
    write_lumiboard_sweep(logdir)
    server = serve(logdir)
    ui.open(server.url)
    ui.wait_charts(cards=2, runs=5)
    page = ui.page
    page.get_by_test_id("runs-columns-button").click()
    page.locator("[data-testid=runs-column-toggle][data-col='h:lr']").check()
    page.locator("[data-testid=runs-column-toggle][data-col='m:validation/accuracy']").check()
    page.get_by_test_id("runs-columns-button").click()  # close the menu

    lr = _cells(ui, "h:lr")
    for name, (rate, *_rest) in TRIALS.items():
        assert lr[name] == f"{rate:g}", (name, lr)
        assert lr[f"{name}/validation"] == f"{rate:g}"  # hparams reach the runs below a session
    assert lr["no_metrics"] == "0.5"
    accuracy = _cells(ui, "m:validation/accuracy")
    assert accuracy["trial_4/validation"] == "0.9"  # the last value: 0.9 * (25 + 5) / 30
    assert accuracy["trial_4"] == ""  # the metric belongs to the sub-run holding it

    # Sort by lr, then reverse.
    sort = page.locator("[data-testid=runs-col-sort][data-col='h:lr']")
    sort.click()
    expect(sort).to_contain_text("▲")
    order = _listed(ui)
    valued = [run for run in order if lr.get(run)]
    assert len(valued) == 2 * len(TRIALS) + 1
    assert order[: len(valued)] == valued, order  # runs without an lr come last
    rates = [float(lr[run]) for run in valued]
    assert rates == sorted(rates), order
    sort.click()
    expect(sort).to_contain_text("▼")
    order = _listed(ui)
    assert [float(lr[run]) for run in order[: len(valued)]] == sorted(rates, reverse=True)
    assert not any(lr.get(run) for run in order[len(valued) :])

    # Filter lr >= 0.2: the panel lists those runs; "only these" shows just them on the charts.
    lr_filter = page.locator("[data-testid=runs-col-filter][data-col='h:lr']")
    lr_filter.fill(">=0.2")
    expect(page.get_by_test_id("run-row")).to_have_count(3)
    assert sorted(_listed(ui)) == ["no_metrics", "trial_3", "trial_3/validation"]
    page.get_by_test_id("runs-select-only").click()
    expect(page.get_by_test_id("runs-count")).to_have_text("3 of 12 selected")
    ui.wait_charts(cards=2, runs=1)
    ui.screenshot("run-columns")

    # A filter that cannot be read is flagged and keeps nothing out.
    lr_filter.fill(">abc")
    expect(lr_filter).to_have_class(re.compile("runs__head-filter--invalid"))
    expect(page.get_by_test_id("run-row")).to_have_count(12)
    lr_filter.fill("")

    # The choice of columns stays in the browser.
    page.reload()
    page.get_by_test_id("runs-columns-head").wait_for()
    expect(page.locator("[data-testid=run-cell][data-col='h:lr']")).to_have_count(12)


# WCAG contrast of an element's text against the first opaque background behind it.
_CONTRAST = """els => els.map((el) => {
  const parse = (css) => css.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let node = el;
  let bg = null;
  while (node && !bg) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0.99) bg = c.slice(0, 3);
    node = node.parentElement;
  }
  const fg = parse(getComputedStyle(el).color).slice(0, 3);
  const [a, b] = [lum(fg), lum(bg || [255, 255, 255])].sort((x, y) => y - x);
  return {status: el.textContent, ratio: (a + 0.05) / (b + 0.05)};
})"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_parallel_width_fading_matrix_and_pills(
    ui: UI, serve: Callable[..., Server], tmp_path: Path, dark: bool
) -> None:
    logdir = tmp_path / "logs"
    write_lumiboard_sweep(logdir)
    server = serve(logdir)
    ui.page.set_viewport_size({"width": 1440, "height": 1000})
    ui.open(f"{server.url}?tab=hparams{'&darkMode=true' if dark else ''}")
    page = ui.page
    page.get_by_test_id("hp-table").wait_for()
    shot = "-dark" if dark else ""

    # Status pills: every one at least 4.5:1 against what is behind it.
    pills = page.locator("[data-testid=hp-table] .hp-status")
    expect(pills.first).to_be_visible()
    ratios = pills.evaluate_all(_CONTRAST)
    assert ratios, ratios
    assert all(r["ratio"] >= 4.5 for r in ratios), ratios
    ui.screenshot(f"pills{shot}")

    # Parallel coordinates take the width right of the query pane, up to the window's edge
    # (at 1440 px; the dashboard once shrank to its content, ~730 of ~940 px).
    page.get_by_test_id("hp-tab-parallel").click()
    lines = page.get_by_test_id("hp-line")
    expect(lines).to_have_count(6)
    widths = page.evaluate(
        """() => {
          const svg = document.querySelector('[data-testid=hp-parallel-svg]')
            .getBoundingClientRect();
          const main = document.querySelector('[data-testid=dashboard]').getBoundingClientRect();
          return {svg: svg.width, available: main.right - svg.left, main: main.right};
        }"""
    )
    assert widths["svg"] >= 0.95 * widths["available"], widths
    assert widths["main"] >= 1400, widths

    # Tick labels come after every line (drawn above them), with a halo of the panel's colour.
    labels = page.evaluate(
        """() => {
          const lines = document.querySelector('[data-testid=hp-lines]');
          const ticks = [...document.querySelectorAll('.hp-axis__tick')];
          const panel = getComputedStyle(document.querySelector('[data-testid=hp-parallel]'))
            .backgroundColor;
          return {count: ticks.length, panel,
                  after: ticks.every((t) => lines.compareDocumentPosition(t)
                    & Node.DOCUMENT_POSITION_FOLLOWING),
                  order: getComputedStyle(ticks[0]).paintOrder,
                  halo: getComputedStyle(ticks[0]).stroke};
        }"""
    )
    assert labels["count"] > 5, labels
    assert labels["after"], labels
    assert labels["order"].startswith("stroke"), labels
    assert rgb(labels["halo"]) == rgb(labels["panel"]), labels

    # A filter fades the sessions it leaves out instead of removing them.
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=sgd]").click()
    expect(lines).to_have_count(3)
    filtered = page.get_by_test_id("hp-line-filtered")
    expect(filtered).to_have_count(3)
    assert set(filtered.evaluate_all("els => els.map((e) => e.dataset.session)")) == {
        "trial_2",
        "trial_3",
        "no_metrics",
    }
    opacity = "els => els.map((e) => Number(getComputedStyle(e).strokeOpacity))"
    faded = filtered.evaluate_all(opacity)
    shown = lines.evaluate_all(opacity)
    assert max(faded) <= 0.3, faded
    assert max(faded) < min(shown) / 2, (faded, shown)
    ui.screenshot(f"parallel-filtered{shot}")
    page.locator("[data-testid=hp-discrete][data-column='h:optimizer'][data-value=sgd]").click()
    expect(filtered).to_have_count(0)

    # The full scatter plot matrix: (3 hparams + 2 metrics) rows x 3 hparam columns.
    page.get_by_test_id("hp-color-by").select_option("m:validation/accuracy")
    page.get_by_test_id("hp-tab-scatter").click()
    cells = page.get_by_test_id("hp-cell")
    expect(cells).to_have_count((3 + 2) * 3)
    pairs = cells.evaluate_all("els => els.map((e) => [e.dataset.y, e.dataset.x])")
    hparams = ["h:lr", "h:optimizer", "h:layers"]
    rows_y = ["h:lr", "h:optimizer", "h:layers", "m:validation/accuracy", "m:loss"]
    assert sorted(map(tuple, pairs)) == sorted((y, x) for y in rows_y for x in hparams), pairs
    # hparam x hparam: every session with both values, no_metrics included.
    lr_layers = page.locator(
        "[data-testid=hp-cell][data-y='h:layers'][data-x='h:lr'] [data-testid=hp-dot]"
    )
    expect(lr_layers).to_have_count(len(TRIALS) + 1)
    # Dots coloured by the chosen metric: the same colour for a session in every cell,
    # different sessions (different accuracies) in different colours.
    fills = page.locator("[data-testid=hp-dot]").evaluate_all(
        "els => els.map((e) => [e.dataset.session, getComputedStyle(e).fill])"
    )
    by_session: dict[str, set[str]] = {}
    for session, fill in fills:
        by_session.setdefault(session, set()).add(fill)
    assert all(len(f) == 1 for f in by_session.values()), by_session
    trial_fills = {next(iter(by_session[name])) for name in TRIALS}
    assert len(trial_fills) == len(TRIALS), by_session
    # Hover shows the session and its values next to the pointer.
    dot = page.locator("[data-testid=hp-cell][data-y='m:loss'][data-x='h:lr'] [data-testid=hp-dot]")
    dot.first.hover()
    session = dot.first.get_attribute("data-session") or ""
    expect(page.get_by_test_id("hp-scatter-hover-run")).to_have_text(session)
    tooltip = page.get_by_test_id("hp-scatter-hover")
    expect(tooltip).to_contain_text(f"lr{TRIALS[session][0]}")
    tip_box, dot_box = tooltip.bounding_box(), dot.first.bounding_box()
    assert tip_box is not None
    assert dot_box is not None
    assert abs(tip_box["y"] - dot_box["y"]) < 60, (tip_box, dot_box)
    ui.screenshot(f"matrix{shot}")
