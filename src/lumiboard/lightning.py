"""PyTorch Lightning: ``TensorBoardLogger`` without tensorboard or tensorboardX.

Example::

    from lightning import Trainer
    from lumiboard.lightning import TensorBoardLogger

    trainer = Trainer(logger=TensorBoardLogger("logs"))  # logs/lightning_logs/version_0

Needs ``pip install "lumiboard[lightning]"``.
"""

from lumiboard.integrations.lightning_logger import TensorBoardLogger

__all__ = ["TensorBoardLogger"]
