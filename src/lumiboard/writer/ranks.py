"""Which process of a distributed job this is: its rank, the world size, its local rank.

:func:`detect_rank` asks, in this order, and the first that answers wins:

1. ``torch.distributed``, when a process group is initialized (only if torch
   is already imported: detection never imports it). This is what the job
   runs with, whatever launched it (``mp.spawn`` sets no variables).
2. JAX, when ``jax.distributed`` is initialized, or when JAX's backends are
   up and see several processes (only if jax is already imported; detection
   never imports it nor starts its backends, which would make a later
   ``jax.distributed.initialize()`` fail).
3. torchrun / ``torch.distributed.launch`` (and the launchers that mimic it:
   accelerate, DeepSpeed): ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``.
4. ``TF_CONFIG``: the task's id in its cluster as TensorFlow numbers it
   (the chief is 0, workers follow it; an evaluator is its own cluster;
   ``ps`` tasks have no rank).
5. Open MPI (``OMPI_COMM_WORLD_RANK``/``_SIZE``/``_LOCAL_RANK``), then
   MVAPICH (``MV2_COMM_WORLD_*``), then MPICH / Intel MPI
   (``PMI_RANK``, ``PMI_SIZE``, ``MPI_LOCALRANKID``).
6. SLURM: ``SLURM_PROCID``, ``SLURM_NTASKS`` (``SLURM_NPROCS``), ``SLURM_LOCALID``.

The launcher that started this very process comes before the scheduler that
allocated the job: under ``torchrun`` or ``mpirun`` inside a SLURM allocation,
``SLURM_PROCID`` numbers the nodes' launchers, not the training processes.
With none of them set, the process is rank 0 of 1.

A malformed value (not a number, a rank outside the world, a rank without a
world size, bad ``TF_CONFIG`` JSON) is ignored with a warning logged once,
and the next source is asked: detection never raises.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from lumiboard.writer import fs

logger = logging.getLogger(__name__)

#: What ``SummaryWriter(ranks=...)`` accepts.
RANKS_MODES = ("all", "zero", "separate")

# (launcher, rank variable, world size variables, local rank variable), in precedence order.
_TORCHRUN = ("torchrun", "RANK", ("WORLD_SIZE",), "LOCAL_RANK")
_MPI_AND_SLURM = (
    ("Open MPI", "OMPI_COMM_WORLD_RANK", ("OMPI_COMM_WORLD_SIZE",), "OMPI_COMM_WORLD_LOCAL_RANK"),
    ("MVAPICH", "MV2_COMM_WORLD_RANK", ("MV2_COMM_WORLD_SIZE",), "MV2_COMM_WORLD_LOCAL_RANK"),
    ("MPICH/Intel MPI", "PMI_RANK", ("PMI_SIZE",), "MPI_LOCALRANKID"),
    ("SLURM", "SLURM_PROCID", ("SLURM_NTASKS", "SLURM_NPROCS"), "SLURM_LOCALID"),
)

_warned: set[str] = set()


@dataclass(frozen=True)
class RankInfo:
    """This process's place in its job.

    ``local_rank`` (the rank among the processes of this machine) is None
    when the source does not say. ``source`` names the source that answered
    (``"torch.distributed"``, ``"torchrun"``, ``"SLURM"``, ...; ``"none"``
    for a job of one process).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int | None = None
    source: str = "none"

    @property
    def distributed(self) -> bool:
        """True when the job has more than one process."""
        return self.world_size > 1


def detect_rank(
    environ: Mapping[str, str] | None = None,
    modules: Mapping[str, ModuleType] | None = None,
) -> RankInfo:
    """This process's rank, world size and local rank (see the module's doc for the order).

    ``environ`` and ``modules`` default to ``os.environ`` and ``sys.modules``.

    Example::

        info = detect_rank()
        if info.rank == 0:
            print(f"rank 0 of {info.world_size} ({info.source})")
    """
    env = os.environ if environ is None else environ
    loaded = sys.modules if modules is None else modules
    from_env = [_from_variables(env, *_TORCHRUN), _from_tf_config(env)]
    from_env += [_from_variables(env, *source) for source in _MPI_AND_SLURM]
    found = [info for info in from_env if info is not None]
    runtime = _from_torch(loaded) or _from_jax(loaded)
    if runtime is not None:
        # A runtime knows no local rank: take it from a launcher that agrees.
        for info in found:
            if (info.rank, info.world_size) == (runtime.rank, runtime.world_size):
                return RankInfo(runtime.rank, runtime.world_size, info.local_rank, runtime.source)
        return runtime
    return found[0] if found else RankInfo()


def check_ranks(ranks: object) -> str:
    """``ranks`` if it is one of :data:`RANKS_MODES`; else ``ValueError``."""
    if not isinstance(ranks, str) or ranks not in RANKS_MODES:
        choices = ", ".join(map(repr, RANKS_MODES))
        raise ValueError(f"ranks must be one of {choices}; got {ranks!r}")
    return ranks


def rank_log_dir(log_dir: str, ranks: str, info: RankInfo) -> str | None:
    """Where this process writes under the ``ranks`` policy; None: it writes nothing.

    ``"all"``: ``log_dir``; ``"zero"``: ``log_dir`` on rank 0, None elsewhere;
    ``"separate"``: ``<log_dir>/rank_<rank>`` (``rank_0`` in a job of one process).
    """
    check_ranks(ranks)
    if ranks == "zero":
        return log_dir if info.rank == 0 else None
    if ranks == "separate":
        return fs.join(log_dir, f"rank_{info.rank}")
    return log_dir


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning("%s", message)


def _number(env: Mapping[str, str], name: str) -> int | None:
    # None and a warning when the variable is not a non-negative integer.
    try:
        value = int(env[name].strip())
    except ValueError:
        value = -1
    if value < 0:
        _warn_once(f"lumiboard: ignoring {name}={env[name]!r}: not a non-negative integer")
        return None
    return value


def _from_variables(
    env: Mapping[str, str],
    source: str,
    rank_name: str,
    size_names: tuple[str, ...],
    local_name: str,
) -> RankInfo | None:
    if rank_name not in env:
        return None
    size_name = next((name for name in size_names if name in env), None)
    if size_name is None:
        _warn_once(f"lumiboard: ignoring {rank_name} ({source}): {size_names[0]} is not set")
        return None
    rank, size = _number(env, rank_name), _number(env, size_name)
    if rank is None or size is None:
        return None
    if rank >= size:
        _warn_once(
            f"lumiboard: ignoring {rank_name}={rank} ({source}): not below {size_name}={size}"
        )
        return None
    local = _number(env, local_name) if local_name in env else None
    return RankInfo(rank, size, local, source)


def _from_tf_config(env: Mapping[str, str]) -> RankInfo | None:
    text = env.get("TF_CONFIG", "").strip()
    if not text:
        return None
    try:
        config = json.loads(text)
        cluster, task = config.get("cluster") or {}, config.get("task") or {}
        if not cluster or not task:
            return None  # a single-worker config: no cluster to be ranked in
        kind, index = task["type"], task.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"task index {index!r}")
        jobs = {job: len(cluster.get(job) or ()) for job in ("chief", "worker", "evaluator")}
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        _warn_once(f"lumiboard: ignoring TF_CONFIG: malformed ({error})")
        return None
    if kind == "evaluator":
        # As TensorFlow: the evaluator is a cluster of its own.
        rank, size = index, max(jobs["evaluator"], 1)
    elif kind in ("chief", "worker"):
        rank = 0 if kind == "chief" else index + jobs["chief"]
        size = jobs["chief"] + jobs["worker"]
    else:
        return None  # ps tasks have no rank in TensorFlow either
    if rank >= size:
        _warn_once(f"lumiboard: ignoring TF_CONFIG: task {kind}:{index} is not in the cluster")
        return None
    return RankInfo(rank, size, None, "TF_CONFIG")


def _from_torch(modules: Mapping[str, ModuleType]) -> RankInfo | None:
    dist: Any = modules.get("torch.distributed")
    if dist is None:
        return None
    try:
        if not (dist.is_available() and dist.is_initialized()):
            return None
        return RankInfo(int(dist.get_rank()), int(dist.get_world_size()), None, "torch.distributed")
    except Exception as error:  # a broken or torn-down group must not stop a writer
        logger.debug("torch.distributed rank unavailable: %s", error)
        return None


def _from_jax(modules: Mapping[str, ModuleType]) -> RankInfo | None:
    jax: Any = modules.get("jax")
    if jax is None:
        return None
    distributed: Any = modules.get("jax._src.distributed")
    bridge: Any = modules.get("jax._src.xla_bridge")
    try:
        state = distributed.global_state if distributed is not None else None
        if state is not None and state.client is not None and state.process_id is not None:
            rank, size = int(state.process_id), int(state.num_processes)
            return RankInfo(rank, size, None, "jax.distributed")
        if bridge is not None and bridge.backends_are_initialized():
            count = int(jax.process_count())
            if count > 1:
                return RankInfo(int(jax.process_index()), count, None, "jax")
    except Exception as error:  # private names move between JAX versions
        logger.debug("jax process index unavailable: %s", error)
    return None
