"""Hugging Face ``Trainer`` runs logged by lumiboard, with no tensorboard installed.

Two runs of a tiny BERT (built in code, randomly initialised: nothing is downloaded)
learn a toy task (does the sequence contain token 7?) at two learning rates. Each run
writes what transformers' own TensorBoardCallback writes (``train/*``, ``eval/*``
scalars, the ``args`` and ``model_config`` texts) and an HParams session, so the
HParams dashboard compares the two::

    pip install "lumiboard[transformers]"      # transformers, torch, accelerate
    python examples/transformers_trainer.py /tmp/hf_runs    # a few seconds on a CPU
    lumiboard --logdir /tmp/hf_runs
"""

from __future__ import annotations

import os
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from lumiboard.transformers import TensorBoardCallback


def toy_data(count: int, seed: int) -> list[dict[str, torch.Tensor | int]]:
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for _ in range(count):
        tokens = torch.randint(8, 64, (12,), generator=generator)
        label = int(torch.rand((), generator=generator) < 0.5)
        if label:
            tokens[int(torch.randint(0, 12, (), generator=generator))] = 7
        rows.append({"input_ids": tokens, "labels": label})
    return rows


def main(logdir: str) -> None:
    train, dev = toy_data(128, seed=0), toy_data(32, seed=1)
    for learning_rate in (3e-3, 3e-2):
        torch.manual_seed(0)
        config = BertConfig(
            vocab_size=64,
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
        )
        args = TrainingArguments(
            output_dir=os.path.join(logdir, f"lr_{learning_rate:g}"),
            learning_rate=learning_rate,
            num_train_epochs=3,
            per_device_train_batch_size=16,
            logging_steps=4,
            eval_strategy="epoch",
            save_strategy="no",
            report_to=[],  # transformers' own TensorBoard callback would need tensorboard
            use_cpu=True,
            disable_tqdm=True,
        )
        trainer = Trainer(
            model=BertForSequenceClassification(config),
            args=args,
            train_dataset=train,
            eval_dataset=dev,
            callbacks=[TensorBoardCallback()],
        )
        trainer.train()
        print(f"lr={learning_rate:g}: eval loss {trainer.evaluate()['eval_loss']:.3f}")
    print(f"lumiboard --logdir {logdir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "hf_runs")
