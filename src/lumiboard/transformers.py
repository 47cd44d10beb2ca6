"""Hugging Face ``Trainer`` logging with lumiboard: TensorBoard files, no tensorboard.

Example::

    from transformers import Trainer
    from lumiboard.transformers import TensorBoardCallback

    trainer = Trainer(model, args, train_dataset=train, eval_dataset=dev,
                      callbacks=[TensorBoardCallback()])

Needs ``pip install "lumiboard[transformers]"``; see
:mod:`lumiboard.integrations.transformers_callback` for what is written where.
"""

from __future__ import annotations

from lumiboard.integrations.transformers_callback import (
    TensorBoardCallback,
    metric_tags,
    rewrite_logs,
    training_hparams,
)

__all__ = ["TensorBoardCallback", "metric_tags", "rewrite_logs", "training_hparams"]
