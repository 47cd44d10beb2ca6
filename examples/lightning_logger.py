"""Log a PyTorch Lightning run with lumiboard: no tensorboard, no tensorboardX.

Run it (a few seconds on a CPU), then open the logs::

    python examples/lightning_logger.py            # writes logs/lightning_logs/version_<N>
    lumiboard --logdir logs                        # Scalars, HParams, Graphs

``pip install "lumiboard[lightning]"`` installs what it needs.
"""

from __future__ import annotations

import sys

import lightning
import torch
from torch.utils.data import DataLoader, TensorDataset

from lumiboard.lightning import TensorBoardLogger


class Regressor(lightning.LightningModule):
    """A linear layer fitted to noisy data; its init arguments become the run's hparams."""

    def __init__(self, lr: float = 0.05, features: int = 3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(features, 1)
        self.example_input_array = torch.zeros(1, features)  # for log_graph=True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("val_loss", loss)
        self.log("hp_metric", loss)  # the HParams dashboard's metric for this run

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loader(seed: int) -> DataLoader[tuple[torch.Tensor, ...]]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 3, generator=generator)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.1 * torch.randn(64, 1, generator=generator)
    return DataLoader(TensorDataset(x, y), batch_size=16)


def main(save_dir: str = "logs") -> str:
    logger = TensorBoardLogger(save_dir, log_graph=True)
    trainer = lightning.Trainer(
        max_epochs=5,
        logger=logger,
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(Regressor(), loader(0), loader(1))
    print(f"logged to {logger.log_dir}; view with: lumiboard --logdir {save_dir}")
    return logger.log_dir


if __name__ == "__main__":
    main(*sys.argv[1:2])
