"""Distributed training logs: one run per rank, and the job's metrics from rank 0 only.

Run it under torchrun (3 CPU processes, gloo; a few seconds)::

    torchrun --nproc_per_node 3 examples/distributed_torchrun.py runs/ddp
    python examples/distributed_torchrun.py runs/ddp    # the same: it starts torchrun itself

then ``lumiboard --logdir runs/ddp``. In Scalars, Settings, Run aggregation,
"Group ranks" draws the job's mean loss with a min-max band over its ranks, and
the tooltip names the rank farthest from the mean (here rank 2, whose data is
noisier).

Each rank knows its rank from torchrun's variables (or SLURM's, MPI's, ...):

- ``SummaryWriter(log_dir, ranks="separate")``: each rank writes ``<log_dir>/rank_<k>``;
- ``SummaryWriter(log_dir, ranks="zero")``: only rank 0 writes; elsewhere add_* do nothing;
- ``SummaryWriter(log_dir)`` (``ranks="all"``): every rank writes its own file into log_dir.
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from lumiboard import SummaryWriter

WORLD = 3
STEPS = 60


def train(log_dir: str) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(rank)
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    true_weights = torch.tensor([[1.0, -2.0, 0.5, 3.0]])
    noise = 0.1 if rank != 2 else 1.5  # rank 2's shard is noisier: its loss stands out

    per_rank = SummaryWriter(os.path.join(log_dir, "train"), ranks="separate")
    job = SummaryWriter(os.path.join(log_dir, "job"), ranks="zero")
    for step in range(STEPS):
        x = torch.randn(32, 4)
        y = x @ true_weights.T + noise * torch.randn(32, 1)
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()  # DDP all-reduces the gradients here
        optimizer.step()
        per_rank.add_scalar("loss", loss.item(), step)
        mean_loss = loss.detach().clone()
        dist.all_reduce(mean_loss)
        job.add_scalar("loss/mean_over_ranks", mean_loss.item() / dist.get_world_size(), step)
    per_rank.close()
    job.close()
    dist.destroy_process_group()
    if rank == 0:
        print(f"wrote {log_dir}/train/rank_0..rank_{WORLD - 1} and {log_dir}/job")


def main() -> None:
    log_dir = sys.argv[1] if len(sys.argv) > 1 else "runs/ddp"
    if "RANK" in os.environ:
        train(log_dir)
        return
    # Not under torchrun: start it, with this script as every rank.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc_per_node={WORLD}", __file__, log_dir]
    sys.exit(subprocess.call(command, env={**os.environ, "OMP_NUM_THREADS": "1"}))


if __name__ == "__main__":
    main()
