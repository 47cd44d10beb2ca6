"""A log directory holding only profiles (no event files): the app shows its runs.

Neither a PyTorch trace directory nor a Keras ``plugins/profile/<ts>/<host>.xplane.pb`` tree makes
a run for ``/data/runs``; the runs come from the profile plugin alone. The app must show them, not
the empty "No runs yet" state of a truly empty log directory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from e2e_support import UI, Server, non_background, rgb
from PIL import Image
from playwright.sync_api import expect

from lumiboard.plugins.profile.demo import synthetic_trace, write_trace

KERAS = Path(__file__).parent.parent / "fixtures" / "xplane" / "keras"


@pytest.fixture
def profile_only_logdir(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_trace(root / "torch_run", "worker0", 1_700_000_000_000, synthetic_trace(0))
    shutil.copytree(KERAS, root / "keras")
    return root


def test_profile_only_logdir_opens_the_profile_tab_with_its_runs(
    ui: UI, profile_only_logdir: Path, serve: Callable[..., Server]
) -> None:
    board = serve(profile_only_logdir)
    ui.open(board.base)
    page = ui.page
    expect(page.get_by_test_id("dashboard")).to_have_attribute("data-plugin", "profile")
    expect(page.get_by_test_id("profile-dashboard")).to_be_visible()
    options = page.get_by_test_id("profile-run").locator("option")
    expect(options).to_have_count(2)
    assert sorted(options.all_inner_texts()) == ["keras/train", "torch_run"]
    # The runs panel lists the profiled runs too, not "No runs yet" (it is a rail on Profile,
    # one click opens it).
    page.get_by_test_id("runs-panel-toggle").click()
    rows = page.get_by_test_id("run-row")
    expect(rows).to_have_count(2)
    expect(page.get_by_test_id("runs-list")).not_to_contain_text("No runs yet")
    ui.settle()
    shot = ui.screenshot("profile-only")
    image = np.asarray(Image.open(shot).convert("RGB")).astype(np.int16)
    background = rgb(page.evaluate("() => getComputedStyle(document.body).backgroundColor"))
    assert non_background(image, background) > 5_000

    # They are runs like any other: unticking one in the runs panel hides it from the Profile tab.
    page.locator("[data-testid=run-checkbox][data-run='torch_run']").uncheck()
    expect(options).to_have_count(1)
    expect(options).to_have_text("keras/train")
    # The Keras (XSpace) profile's Overview: its 3 profiled batches are the steps.
    expect(page.get_by_test_id("stat-steps")).to_contain_text("3")
    expect(page.get_by_test_id("profile-host")).to_contain_text("host vm · profiled")
    expect(page.get_by_test_id("profile-not-computed")).to_have_count(0)
    ui.screenshot("profile-only-xspace-overview")
    # Its TensorFlow ops, by type, in the Operator view.
    page.get_by_test_id("profile-view-operator").click()
    expect(page.get_by_test_id("profile-operators")).to_contain_text("_MklNativeFusedMatMul")
    expect(page.get_by_test_id("profile-operators")).to_contain_text("ReadVariableOp")
    ui.screenshot("profile-only-xspace-operators")
    # A CPU profile has no kernels: the view says what to record, with no zero stats.
    page.get_by_test_id("profile-view-kernel").click()
    expect(page.get_by_test_id("profile-not-computed")).to_contain_text("no GPU activity")
    ui.screenshot("profile-only-xspace-kernels")


def test_truly_empty_logdir_still_says_no_runs_yet(
    ui: UI, tmp_path: Path, serve: Callable[..., Server]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    board = serve(empty)
    ui.open(board.base)
    expect(ui.page.get_by_test_id("runs-list")).to_contain_text("No runs yet")
    expect(ui.page.get_by_test_id("run-row")).to_have_count(0)
