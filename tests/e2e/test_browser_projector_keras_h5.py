"""Keras 3's own embeddings (``train/keras_embedding.ckpt-N.weights.h5``) in the Projector.

A real Keras log_dir (tests/fixtures/keras_embeddings/single: a 20 x 4 Embedding layer, labels
``word0`` ... ``word19``) is drawn; a run whose embedding is in a TF checkpoint says which
checkpoint and why it is not read. (Two servers: switching between runs whose tensors have
other names first asks /tensor for the old name in the new run, a 404 the console would log.)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from e2e_support import UI, Server
from playwright.sync_api import expect

from lumiboard import SummaryWriter

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "keras_embeddings" / "single"


def test_keras_h5_embedding_is_drawn(ui: UI, tmp_path: Path, serve: Callable[..., Server]) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(FIXTURE, logs / "keras")
    tf_run = tmp_path / "tf_logs" / "tf"
    with SummaryWriter(str(tf_run)) as writer:
        writer.add_scalar("loss", 1.0, 0)
    (tf_run / "projector_config.pbtxt").write_text('embeddings { tensor_name: "emb" }\n')
    for name in ("model.ckpt-5.index", "model.ckpt-5.data-00000-of-00001"):
        (tf_run / name).write_bytes(b"x")

    ui.open(serve(logs).base + "?tab=projector")
    expect(ui.page.get_by_test_id("projector-run")).to_have_value("keras")
    expect(ui.page.get_by_test_id("projector-shape")).to_have_text("20 points × 4 dimensions")
    ui.page.wait_for_function(
        """() => {
          const s = document.querySelector('[data-testid=projector-stage]');
          return s && s.dataset.status === 'done' && s.dataset.points === '20';
        }""",
        timeout=60_000,
    )
    ui.page.get_by_test_id("projector-search").fill("word1")
    # word1, word10 ... word19
    expect(ui.page.get_by_test_id("projector-match-count")).to_contain_text("11 matches")
    ui.settle()
    ui.screenshot("keras")

    ui.open(serve(tmp_path / "tf_logs").base + "?tab=projector")
    expect(ui.page.get_by_test_id("projector-run")).to_have_value("tf")
    error = ui.page.get_by_test_id("projector-error")
    expect(error).to_contain_text("in the TF checkpoint 'model.ckpt-5'")
    expect(error).to_contain_text("which lumiboard does not read")
    expect(error).not_to_contain_text("lives in a TF checkpoint")
    ui.screenshot("tf-checkpoint")
    # The browser logs the expected 422 of /tensor as a console error.
    ui.errors[:] = [e for e in ui.errors if "status of 422" not in e]
