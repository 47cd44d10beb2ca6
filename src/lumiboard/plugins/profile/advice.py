"""Performance recommendations for the Overview, from the step-time breakdown and GPU metrics.

The thresholds follow the spirit of torch-tb-profiler's hints (a DataLoader
share above 5 %, low GPU utilization, tensor cores left unused, large
communication share); the wording is lumiboard's.
"""

from __future__ import annotations

from typing import Any

DATALOADER_SHARE = 0.05
MEMCPY_SHARE = 0.10
RUNTIME_SHARE = 0.15
LOW_UTILIZATION = 0.5
LOW_OCCUPANCY = 30.0
COMMUNICATION_SHARE = 0.2


#: The remedies named in hints, by the framework that wrote the profile: PyTorch's traces, or
#: the XSpace profiles of TensorFlow, Keras and JAX (``xplane``).
REMEDIES = {
    "pytorch": {
        "input": "raise the DataLoader's num_workers, enable pin_memory, or prefetch batches",
        "cpu": "on CPU, try torch.compile or a larger batch per thread",
        "placement": "check the device placement",
        "fuse": "CUDA graphs / torch.compile",
        "copies": "use pinned memory with non_blocking=True and avoid .item()/.cpu() "
        "synchronisations in the loop",
        "runtime": "Fuse them (torch.compile) or capture the step with CUDA graphs",
        "precision": "enable mixed precision (torch.autocast) or TF32 "
        "(torch.backends.cuda.matmul.allow_tf32)",
        "overlap": "DDP bucket sizes, gradient accumulation with no_sync",
    },
    "xplane": {
        "input": "end the tf.data pipeline with .prefetch(tf.data.AUTOTUNE), map with "
        "num_parallel_calls=tf.data.AUTOTUNE, and .cache() what fits in memory",
        "cpu": "on CPU, compile the step with XLA (jit_compile=True in Keras, jax.jit) or use "
        "a larger batch",
        "placement": "check that the framework sees the accelerator "
        "(tf.config.list_physical_devices('GPU'), jax.devices())",
        "fuse": "XLA compilation of the whole step (jit_compile=True, jax.jit)",
        "copies": "keep the data on the device between steps and prefetch to it "
        "(tf.data's prefetch_to_device, jax.device_put ahead of the step)",
        "runtime": "Compile the step with XLA (jit_compile=True, jax.jit) so ops fuse",
        "precision": "enable mixed precision "
        "(keras.mixed_precision.set_global_policy('mixed_float16'), bfloat16 in JAX)",
        "overlap": "larger per-device batches, or gradient accumulation",
    },
}


def recommendations(
    mean: dict[str, float],
    gpus: list[dict[str, Any]],
    tensor_core_share: float | None,
    framework: str = "pytorch",
) -> list[str]:
    """Short hints, most important first; empty when nothing stands out."""
    remedy = REMEDIES.get(framework, REMEDIES["pytorch"])
    total = mean.get("duration", 0.0)
    if total <= 0:
        return []

    def share(role: str) -> float:
        return mean.get(role, 0.0) / total

    hints: list[str] = []
    if share("DataLoader") > DATALOADER_SHARE:
        hints.append(
            f"Data loading takes {share('DataLoader'):.0%} of each step: {remedy['input']}."
        )
    if not gpus:
        if share("CPU Exec") > 0.5:
            hints.append(
                "Only host activity was recorded. If the model should run on a GPU, "
                f"{remedy['placement']}; {remedy['cpu']}."
            )
        return hints
    utilization = min(gpu["utilization"] for gpu in gpus)
    if utilization < LOW_UTILIZATION:
        hints.append(
            f"GPU utilization is {utilization:.0%}: the device waits for the host. Try a larger "
            f"batch size, fewer host-side operations per step, or {remedy['fuse']}."
        )
    if share("Memcpy") + share("Memset") > MEMCPY_SHARE:
        hints.append(
            f"Memory copies take {share('Memcpy') + share('Memset'):.0%} of each step: "
            f"{remedy['copies']}."
        )
    if share("Runtime") > RUNTIME_SHARE:
        hints.append(
            f"CUDA runtime calls take {share('Runtime'):.0%} of each step: many small kernels. "
            f"{remedy['runtime']}."
        )
    occupancy = [
        gpu["achieved_occupancy"] for gpu in gpus if gpu.get("achieved_occupancy") is not None
    ]
    if occupancy and min(occupancy) < LOW_OCCUPANCY:
        hints.append(
            f"Estimated achieved occupancy is {min(occupancy):.0f}%: kernels use few warps per SM; "
            "larger tensors or batch sizes usually help."
        )
    if tensor_core_share is not None and tensor_core_share < 0.1 and share("Kernel") > 0.2:
        hints.append(
            f"Only {tensor_core_share:.0%} of kernel time runs on tensor cores: "
            f"{remedy['precision']}."
        )
    if share("Communication") > COMMUNICATION_SHARE:
        hints.append(
            f"Communication takes {share('Communication'):.0%} of each step: overlap it with "
            f"computation ({remedy['overlap']})."
        )
    return hints
