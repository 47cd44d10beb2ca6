"""The Text dashboard in a real browser, on a log directory written by lumiboard and torch:
rendered markdown and tables, newest first, the step slider, the markdown toggle, and hostile
text that stays inert."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import UI, Server, rgb
from playwright.sync_api import Dialog, expect

from lumiboard import SummaryWriter, summary

STEPS = [0, 10, 20, 30, 40]
HOSTILE = (
    "<script>window.__pwned = 1</script>\n\n"
    '<img src=x onerror="window.__pwned = 2; alert(2)">\n\n'
    '<a href="javascript:window.__pwned = 3" id="evil">evil link</a>\n\n'
    '<svg onload="window.__pwned = 4"><circle r="5"></circle></svg>\n\n'
    "[md link](javascript:window.__pwned=5)\n\n"
    '<a href="&#106;avascript:window.__pwned=6">entity link</a>\n\n'
    '<iframe src="javascript:window.parent.__pwned=7"></iframe>\n\n'
    '<p style="color:red" onmouseover="window.__pwned=8">styled</p>'
)


def _note(step: int) -> str:
    return (
        f"## Step {step}\n\n**bold {step}** and *em*\n\n"
        "| name | value |\n|------|------:|\n| lr | 0.1 |\n| batch | 32 |\n\n"
        "```\ncode block\n```"
    )


def _write(root: Path) -> None:
    with SummaryWriter(str(root / "lumi")) as writer:
        for step in STEPS:
            writer.add_text("notes", _note(step), step)
    functional = summary.create_file_writer(str(root / "lumi"))
    with functional.as_default(step=5):
        summary.text("tables/matrix", [["r0c0", "**r0c1**"], ["r1c0", "r1c1"], ["r2c0", "r2c1"]])
    functional.close()
    torch_tb = pytest.importorskip("torch.utils.tensorboard")
    writer = torch_tb.SummaryWriter(str(root / "torch"))
    for step in STEPS:
        writer.add_text("notes", _note(step), step)
    writer.add_text("hostile", HOSTILE, 0)
    writer.close()


@pytest.fixture
def text_board(tmp_path: Path, serve: Callable[..., Server]) -> Server:
    root = tmp_path / "logs"
    _write(root)
    return serve(root)


def _url(server: Server, **params: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in {"tab": "text", **params}.items())
    return f"{server.url}{'&' if '?' in server.url else '?'}{query}"


def _card(ui: UI, run: str, tag: str):  # type: ignore[no-untyped-def]
    return ui.page.locator(f"[data-testid=text-card][data-run='{run}'][data-tag='{tag}']")


def _steps(card) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(s) for s in card.get_by_test_id("text-entry").evaluate_all(
        "els => els.map((e) => e.dataset.step)")]  # fmt: skip


def test_markdown_and_tables_rendered_newest_first(ui: UI, text_board: Server) -> None:
    ui.open(_url(text_board))
    cards = ui.page.get_by_test_id("text-card")
    expect(cards).to_have_count(4)  # lumi: notes, tables/matrix; torch: notes, hostile
    for run in ("lumi", "torch"):
        card = _card(ui, run, "notes/text_summary")
        expect(card.get_by_test_id("text-entry")).to_have_count(len(STEPS))
        assert _steps(card) == sorted(STEPS, reverse=True)
        newest = card.get_by_test_id("text-html").first
        expect(newest.locator("h2")).to_have_text("Step 40")
        expect(newest.locator("strong")).to_have_text("bold 40")
        # The markdown table: a header row and two body rows, 2 cells each.
        table = newest.locator("table table")
        expect(table.locator("tr")).to_have_count(3)
        expect(table.locator("th")).to_have_count(2)
        expect(table.locator("td")).to_have_count(4)
        assert table.locator("td").all_inner_texts() == ["lr", "0.1", "batch", "32"]
        border = table.locator("td").first.evaluate("(el) => getComputedStyle(el).borderTopWidth")
        assert border == "1px"
        font = newest.locator("pre code").evaluate("(el) => getComputedStyle(el).fontFamily")
        assert "mono" in font.lower()
        # The card carries its run's colour.
        swatch = card.get_by_test_id("run-swatch").evaluate(
            "(el) => getComputedStyle(el).backgroundColor"
        )
        assert rgb(swatch) == ui.run_color(run)
    assert ui.run_color("lumi") != ui.run_color("torch")
    # A 2-D string tensor: a 3x2 table.
    matrix = _card(ui, "lumi", "tables/matrix").get_by_test_id("text-html")
    expect(matrix.locator("tr")).to_have_count(3)
    assert matrix.locator("td").all_inner_texts() == [
        "r0c0",
        "r0c1",
        "r1c0",
        "r1c1",
        "r2c0",
        "r2c1",
    ]
    expect(matrix.locator("td strong")).to_have_text("r0c1")
    ui.screenshot("light")

    # The tag filter, and dark mode.
    ui.page.get_by_test_id("tag-filter").fill("matrix")
    ui.page.get_by_test_id("tag-filter").press("Enter")
    expect(cards).to_have_count(1)
    ui.page.get_by_test_id("tag-filter").fill("")
    ui.page.get_by_test_id("tag-filter").press("Enter")
    expect(cards).to_have_count(4)
    ui.page.get_by_test_id("dark-mode").select_option("dark")
    ui.settle()
    background = rgb(cards.first.evaluate("(el) => getComputedStyle(el).backgroundColor"))
    assert sum(background) < 150, background
    text = rgb(cards.first.get_by_test_id("text-html").first.evaluate(
        "(el) => getComputedStyle(el).color"))  # fmt: skip
    assert sum(text) > 500, text
    ui.screenshot("dark")


def test_step_slider_picks_a_step(ui: UI, text_board: Server) -> None:
    ui.open(_url(text_board))
    card = _card(ui, "lumi", "notes/text_summary")
    expect(card.get_by_test_id("text-entry")).to_have_count(len(STEPS))
    slider = card.get_by_test_id("step-slider")
    expect(card.get_by_test_id("step-slider-label")).to_contain_text("step 40")
    slider.focus()
    slider.press("ArrowLeft")
    slider.press("ArrowLeft")
    expect(card.get_by_test_id("step-slider-label")).to_contain_text("step 20")
    expect(card.get_by_test_id("text-entry")).to_have_count(3)
    assert _steps(card) == [20, 10, 0]
    expect(card.get_by_test_id("text-html").first.locator("h2")).to_have_text("Step 20")
    card.get_by_test_id("only-step").check()
    expect(card.get_by_test_id("text-entry")).to_have_count(1)
    assert _steps(card) == [20]
    expect(card.get_by_test_id("text-count")).to_have_text("1 of 5 entries")
    # The other cards keep their own step.
    assert _steps(_card(ui, "torch", "notes/text_summary")) == sorted(STEPS, reverse=True)
    ui.screenshot("slider")


def test_markdown_toggle_is_saved(ui: UI, text_board: Server) -> None:
    ui.open(_url(text_board))
    card = _card(ui, "lumi", "notes/text_summary")
    newest = card.get_by_test_id("text-html").first
    expect(newest.locator("strong")).to_have_text("bold 40")
    toggle = ui.page.get_by_test_id("markdown-toggle")
    toggle.uncheck()
    expect(newest.locator("strong")).to_have_count(0)
    expect(newest).to_contain_text("**bold 40**")
    expect(newest).to_contain_text("| name | value |")
    ui.screenshot("markdown-off")
    ui.page.reload()
    expect(ui.page.get_by_test_id("markdown-toggle")).not_to_be_checked()
    expect(
        _card(ui, "lumi", "notes/text_summary").get_by_test_id("text-html").first
    ).to_contain_text("**bold 40**")
    ui.page.get_by_test_id("markdown-toggle").check()
    expect(
        _card(ui, "lumi", "notes/text_summary").get_by_test_id("text-html").first.locator("strong")
    ).to_have_text("bold 40")


def test_hostile_text_stays_inert(ui: UI, text_board: Server) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    ui.page.on("dialog", on_dialog)
    ui.open(_url(text_board))
    card = _card(ui, "torch", "hostile/text_summary")
    html = card.get_by_test_id("text-html")
    expect(html).to_contain_text("evil link")
    for link in html.locator("a").all():
        link.click()
    html.locator("p", has_text="styled").hover()
    ui.page.wait_for_timeout(300)
    assert dialogs == []
    assert ui.page.evaluate("() => window.__pwned") is None
    cards = ui.page.locator("[data-testid=text-card]")
    assert cards.locator("script, iframe, svg, style, object, embed").count() == 0
    found = cards.evaluate_all(
        """(els) => els.flatMap((card) => [...card.querySelectorAll('.text-html *')].flatMap(
             (el) => [...el.attributes]
               .filter((a) => a.name.startsWith('on') || a.name === 'style'
                 || /^\\s*(javascript|data):/i.test(a.value))
               .map((a) => `${el.tagName} ${a.name}=${a.value}`)))"""
    )
    assert found == []
    for link in html.locator("a[href]").all():
        assert not (link.get_attribute("href") or "").lower().startswith(("javascript", "data"))
    # The page still works after the clicks (no navigation happened).
    expect(ui.page.get_by_test_id("text-card")).to_have_count(4)
    ui.screenshot("hostile")


def test_empty_state(ui: UI, tmp_path: Path, serve: Callable[..., Server]) -> None:
    root = tmp_path / "scalars_only"
    with SummaryWriter(str(root / "run")) as writer:
        writer.add_scalar("loss", 1.0, 0)
    server = serve(root)
    ui.open(_url(server))
    empty = ui.page.get_by_test_id("empty-state")
    expect(empty).to_contain_text("No text data yet")
    expect(empty).to_contain_text('writer.add_text("notes", "**bold** text", step)')
    ui.screenshot("empty")


def test_no_run_selected_and_live_update(
    ui: UI, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    root = tmp_path / "live"
    writer = SummaryWriter(str(root / "run"))
    writer.add_text("log", "first **entry**", 0)
    writer.flush()
    server = serve(root)
    ui.open(_url(server))
    card = _card(ui, "run", "log/text_summary")
    expect(card.get_by_test_id("text-entry")).to_have_count(1)
    writer.add_text("log", "second **entry**", 1)
    writer.flush()
    # The server reloads every second; the dashboard refetches after each reload.
    expect(card.get_by_test_id("text-entry")).to_have_count(2, timeout=20_000)
    assert _steps(card) == [1, 0]
    writer.close()
    ui.page.get_by_test_id("runs-select-none").click()
    expect(ui.page.get_by_test_id("no-runs-selected")).to_be_visible()
