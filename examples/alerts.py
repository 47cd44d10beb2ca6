"""Health flags and alerts: two simulated training runs, one healthy, one that blows up.

Run it (numpy only; under a second)::

    python examples/alerts.py runs/health

then ``lumiboard --logdir runs/health``: the runs panel marks ``lr_0.3``, its charts carry
markers where it went wrong, and the Health view lists every flag and alert. The script also
prints them, read back with ``lumiboard.read(...).health()``.

To be told as it happens, serve with a webhook (a Slack incoming webhook URL, or any service
taking ``{"text": ...}``) and train into the served directory::

    LUMIBOARD_ALERT_WEBHOOK=https://hooks.slack.com/services/... lumiboard --logdir runs

What is in the logs when the server starts is not sent; what appears later is.
"""

from __future__ import annotations

import math
import sys

import numpy as np

import lumiboard
from lumiboard import SummaryWriter
from lumiboard.alerts import alert

STEPS = 400


def train(log_dir: str, lr: float, seed: int) -> None:
    """A simulated run: the loss decays; with a large ``lr`` it blows up after step 200."""
    rng = np.random.default_rng(seed)
    with SummaryWriter(log_dir) as writer:
        for step in range(STEPS):
            loss = (2.3 * math.exp(-step / 80) + 0.1) * math.exp(rng.normal(0.0, 0.05))
            grad_norm = 1.5 * math.exp(rng.normal(0.0, 0.2))
            if lr > 0.1 and step >= 200:  # training goes unstable
                loss *= math.exp((step - 200) / 8)
                grad_norm *= math.exp((step - 200) / 4)
            if step == 150:
                loss *= 6  # one bad batch: a spike
            writer.add_scalar("loss", loss, step)
            writer.add_scalar("gradient_norm/(total)", grad_norm, step)
            if step == 100:  # what a scheduler callback might announce
                alert("Learning rate lowered", f"{lr} -> {lr / 10}", writer=writer, step=step)
            if loss > 1e6:
                writer.add_scalar("loss", math.nan, step + 1)
                text = f"loss reached {loss:.3g} with lr={lr}: stopped at step {step}"
                alert("Training diverged", text, level="error", writer=writer, step=step)
                break


def main(root: str) -> None:
    for lr, seed in ((0.03, 0), (0.3, 1)):
        train(f"{root}/lr_{lr}", lr, seed)
    flags = lumiboard.read(root, cache=False).health()
    print(flags[["run", "tag", "kind", "level", "step", "message"]].to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/health")
