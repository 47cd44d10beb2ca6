"""Write ``tests/fixtures/framework_logs/``: logs written by the frameworks' OWN loggers.

Usage (from the repository root, with the test extra installed: lightning, transformers,
torch and tensorboard)::

    .venv/bin/python scripts/make_framework_log_fixtures.py

Regenerates, from scratch (the old directory is removed):

- ``lightning_logs/version_0``: ``lightning.pytorch.loggers.TensorBoardLogger`` with its
  defaults: an ``hparams.yaml`` *and* an hparams summary (``default_hp_metric=True``
  logs ``hp_metric`` and calls the torch ``hparams()`` summary);
- ``lightning_logs/version_1``: ``default_hp_metric=False``: only ``hparams.yaml``;
- ``hf/run_a``, ``hf/run_b``: transformers' ``TensorBoardCallback`` with two learning
  rates: the ``args`` and ``model_config`` text summaries and ``train/*`` scalars.

Tiny models built in code (no downloads), two optimizer steps each, on the CPU. The
event files are renamed ``events.out.tfevents.<time>.fixture.<n>`` so that no host name is
committed; the trainers run inside the fixture directory so that no absolute path lands in
the logs (``output_dir`` is relative). tests/unit/test_hparams_frameworks.py reads them.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "framework_logs"


def _lightning(root: Path) -> None:
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.loggers import TensorBoardLogger

    class Tiny(pl.LightningModule):
        def __init__(
            self,
            lr: float = 0.1,
            hidden: int = 4,
            optimizer: dict[str, Any] | None = None,
            layers: list[int] | None = None,
            note: str | None = None,
            use_bias: bool = True,
        ) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(3, 1, bias=use_bias)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=self.hparams["lr"])

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(8, 3), torch.randn(8, 1))
    for version, (lr, hp_metric) in enumerate(((0.1, True), (0.02, False))):
        model = Tiny(
            lr=lr,
            optimizer={"name": "sgd", "momentum": 0.9, "schedule": {"warmup": 2}},
            layers=[4, 2],
            note=None,
        )
        logger = TensorBoardLogger(
            save_dir=str(root), name="lightning_logs", default_hp_metric=hp_metric
        )
        trainer = pl.Trainer(
            max_steps=2,
            logger=logger,
            log_every_n_steps=1,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
            devices=1,
        )
        trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=4))
        assert logger.version == version


def _transformers(root: Path) -> None:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from transformers.integrations import TensorBoardCallback

    config = BertConfig(
        vocab_size=32,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=8,
        max_position_embeddings=16,
    )
    data = [
        {"input_ids": torch.tensor([1, 2, 3, 4]), "labels": torch.tensor(index % 2)}
        for index in range(8)
    ]
    for name, lr in (("run_a", 5e-4), ("run_b", 1e-3)):
        torch.manual_seed(0)
        os.environ["TENSORBOARD_LOGGING_DIR"] = f"hf/{name}"
        args = TrainingArguments(
            output_dir=f"hf_output/{name}",
            max_steps=2,
            learning_rate=lr,
            per_device_train_batch_size=4,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            seed=0,
        )
        model = BertForSequenceClassification(config)
        trainer = Trainer(
            model=model, args=args, train_dataset=data, callbacks=[TensorBoardCallback()]
        )
        trainer.train()
    os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
    shutil.rmtree(root / "hf_output", ignore_errors=True)


_EVENT_NAME = re.compile(r"^(events\.out\.tfevents\.\d+)\.(.+)$")


def _anonymize(root: Path) -> None:
    """Event files named ``events.out.tfevents.<time>.fixture.<n>`` (no host name, no pid)."""
    for directory in sorted({path.parent for path in root.rglob("events.out.tfevents.*")}):
        for index, path in enumerate(sorted(directory.glob("events.out.tfevents.*"))):
            match = _EVENT_NAME.match(path.name)
            assert match is not None, path
            path.rename(directory / f"{match.group(1)}.fixture.{index}")


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    cwd = Path.cwd()
    os.chdir(OUT)  # relative paths only in what the frameworks log
    try:
        _lightning(Path("."))
        _transformers(Path("."))
    finally:
        os.chdir(cwd)
    _anonymize(OUT)
    total = sum(path.stat().st_size for path in OUT.rglob("*") if path.is_file())
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:>8}  {path.relative_to(OUT)}")
    print(f"{total:>8}  bytes in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
