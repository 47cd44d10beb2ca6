"""Watch a PyTorch model's weights, gradients and activations with one call.

Two runs of a small CNN on a toy task (is the image's left half brighter than its
right?): a sane learning rate, and one 100x too high, whose ReLUs die and whose
gradient norms jump. Run it (a few seconds on a CPU), then open the logs::

    python examples/watch_torch.py                 # writes logs/watch/lr_0.05, lr_5
    lumiboard --logdir logs/watch                  # Distributions, Histograms, Scalars

In Scalars, ``dead_fraction/*`` climbs towards 1 in the lr_5 run and
``gradient_norm/(total)`` shows its jumps; ``update_ratio/*`` is how far each weight
moved over the 20 steps since the previous logged step, relative to its size.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from lumiboard import SummaryWriter
from lumiboard.watching import unwatch, watch


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 16),
        nn.Tanh(),
        nn.Linear(16, 2),
    )


def batch(generator: torch.Generator, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(size, 1, 16, 16, generator=generator)
    label = torch.randint(0, 2, (size,), generator=generator)
    x[label == 1, :, :, :8] += 0.5  # class 1: a brighter left half
    return x, label


def train(log_dir: Path, lr: float, steps: int = 300) -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    with SummaryWriter(log_dir) as writer:
        watch(model, writer, log="all", log_freq=20)  # the one line
        for step in range(steps):
            x, y = batch(generator)
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            writer.add_scalar("loss", loss.item(), step)
        unwatch(model)


def main(root: str = "logs/watch") -> None:
    for lr in (0.05, 5.0):
        train(Path(root) / f"lr_{lr:g}", lr)
    print(f"logged to {root}/lr_0.05 and {root}/lr_5; view with: lumiboard --logdir {root}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
