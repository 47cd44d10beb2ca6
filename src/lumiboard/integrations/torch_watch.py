"""``lumiboard.watch`` for PyTorch: hooks that log every ``log_freq``-th training step.

What a step is: one forward pass of the watched module in training mode with
gradients enabled (eval passes and ``torch.no_grad()`` passes do not count), numbered
from 0; steps 0, log_freq, 2·log_freq ... are logged. A forward pre-hook on the module
counts them: on the other steps that is all a watch does (one Python call). So watch
the module the training loop calls (a LightningModule whose ``training_step`` calls
``self.model(x)`` rather than ``self(x)``: watch ``self.model``). On a logged step:

- ``parameters``: the weights the forward uses are reduced when it starts;
  ``update_ratio`` compares them with a copy kept from the previous logged step (one
  copy of every parameter, same device and dtype; the norms are float32).
- ``activations``: forward hooks are added to the leaf modules for this forward only
  (removed when it ends, so that a checkpointed recompute is not logged). A module's
  first output of the forward is logged when it is a floating tensor (tuples, e.g.
  an LSTM's, are skipped). A unit is a feature (last dimension) of a Linear,
  Embedding or LayerNorm output, a channel (dimension 1, PyTorch's N, C, ... layout)
  of any other layer's; an activation, dropout or identity module, or any module
  without parameters whose output has its input's shape, takes the layout of the
  layer that ran just before it. A ReLU written as ``F.relu`` inside a
  module's forward is not a module: log its input layer's output instead with
  ``nn.ReLU`` modules to see dead units.
- ``gradients``: read just before the first ``optimizer.step()`` after the logged
  forward, by a global optimizer step pre-hook (for optimizers holding the module's
  parameters), so they are the final gradients: accumulated over micro-batches,
  averaged across ranks by DDP and unscaled by ``GradScaler.step``. (When the scaler
  skips that step for Inf/NaN gradients, the next step's gradients are logged.)
  Without a ``torch.optim`` optimizer, each gradient is reduced when the logged step's
  backward accumulates it (``register_post_accumulate_grad_hook``, for that backward
  only) and written at the next forward.

Wrapped models: DDP's ``module`` is watched (a DataParallel model itself, as its replicas
each run the module); the names drop the
``module.`` prefix and FSDP's ``_fsdp_wrapped_module.``, activation checkpointing's
``_checkpoint_wrapped_module.`` and ``torch.compile``'s ``_orig_mod.``. Under FSDP
(with ``use_orig_params=True`` for per-parameter names) and with DTensor parameters,
each rank logs its own shard: no collective is run, so a watch cannot hang a job.
Each tensor is reduced on its device; only the reduced numbers reach the CPU.

A watched module deep-copies and pickles (the copy is not watched: its hooks are
inert); after ``unwatch`` no hook is left on it.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_pre_hook
from torch.utils.hooks import RemovableHandle

from lumiboard.integrations.torch_watch_stats import (
    Reductions,
    dead_fraction,
    features_last,
    is_elementwise,
    local,
    saturated_fraction,
    unit_dim,
    update_ratio,
)
from lumiboard.watching import TOTAL, FailureLog, is_muted, write_summaries

__all__ = ["TorchWatch", "unwatch_module", "watch_module"]

# Wrappers that insert a level into parameter and module names.
_WRAPPER_LEVELS = re.compile(
    r"(?:^|(?<=\.))(?:_fsdp_wrapped_module|_checkpoint_wrapped_module|_orig_mod)\."
)
# DataParallel is kept: its replicas run the inner module in threads, once each per step.
_REPLICATORS = (nn.parallel.DistributedDataParallel,)

#: The watch of each watched module (the unwrapped one), dropped with the module.
_watches: weakref.WeakKeyDictionary[nn.Module, TorchWatch] = weakref.WeakKeyDictionary()


def clean_name(name: str) -> str:
    """A parameter's or module's name without the levels that wrappers add."""
    name = _WRAPPER_LEVELS.sub("", name)
    while name.startswith("module."):
        name = name[len("module.") :]
    return name


def unwrap(model: nn.Module) -> nn.Module:
    """The module that DDP replicates (or the model itself)."""
    while isinstance(model, _REPLICATORS):
        model = model.module
    return model


def watch_module(model: nn.Module, writer: Any, kinds: frozenset[str], log_freq: int) -> TorchWatch:
    """Watch ``model`` (see :func:`lumiboard.watching.watch`), replacing a previous watch."""
    base = unwrap(model)
    unwatch_module(base)
    watched = TorchWatch(base, writer, kinds, log_freq)
    _watches[base] = watched
    return watched


def unwatch_module(model: nn.Module | None = None) -> None:
    """Remove the watch of ``model`` (of every module when None)."""
    targets = list(_watches.values()) if model is None else [_watches.get(unwrap(model))]
    for watched in targets:
        if watched is not None:
            watched.remove()


class _Hook:
    """Calls one method of a watch through a weak reference (with ``name`` first, if given).

    A copy or a pickle of it is an inert hook, so a watched module can still be
    deep-copied (EMA models, checkpoints) without copying the watch and its writer.
    """

    __slots__ = ("_method", "_name", "_watch")

    def __init__(
        self, watched: TorchWatch, method: Callable[..., None], name: str | None = None
    ) -> None:
        self._watch = weakref.ref(watched)
        self._method = method
        self._name = name

    def __call__(self, *args: Any) -> None:
        watched = self._watch()
        if watched is not None:
            if self._name is None:
                self._method(watched, *args)
            else:
                self._method(watched, self._name, *args)

    def __reduce__(self) -> tuple[type[_InertHook], tuple[()]]:
        return (_InertHook, ())


class _InertHook:
    """What a copied or unpickled watch hook becomes: it does nothing."""

    def __call__(self, *args: Any) -> None:
        return None


class TorchWatch:
    """The hooks and weight copies of one watched module.

    ``step`` is the number of training steps counted so far (the next one's number).
    """

    def __init__(self, model: nn.Module, writer: Any, kinds: frozenset[str], log_freq: int):
        self.kinds = kinds
        self.log_freq = log_freq
        self.step = 0
        self.writer = writer
        self._model = weakref.ref(model)
        self._param_ids = {id(p) for p in model.parameters()}
        self._previous: dict[str, torch.Tensor] = {}
        self._optimizers: weakref.WeakSet[torch.optim.Optimizer] = weakref.WeakSet()
        self._handles: list[RemovableHandle] = []
        # On a logged step: the activation hooks (until the forward ends) and the gradient
        # hooks (until the next forward), with what they reduced.
        self._activation_handles: list[RemovableHandle] = []
        self._activations = Reductions()
        self._activations_step = 0
        self._logged_modules: set[str] = set()
        self._previous_unit_dim: int | None = None
        self._gradient_handles: list[RemovableHandle] = []
        self._gradients = Reductions()
        self._gradients_step: int | None = None
        self._failures = FailureLog()
        if is_muted(writer):
            return  # this rank writes nothing: no hook at all
        self._handles.append(model.register_forward_pre_hook(_Hook(self, TorchWatch._on_forward)))
        if "gradients" in kinds:
            handle = register_optimizer_step_pre_hook(_Hook(self, TorchWatch._on_optimizer_step))
            self._handles.append(handle)
            # The global hook outlives a watch dropped without remove() (its module deleted).
            weakref.finalize(self, handle.remove)

    # ---- lifecycle ----------------------------------------------------------------------

    def remove(self) -> None:
        """Write the gradients still pending, then remove every hook and weight copy."""
        if self._gradients_step is not None:
            if not self._gradients:  # no backward seen by the hooks: what .grad holds now
                self._gradients = self._read_gradients()
            self._write_gradients()
        for handle in self._handles + self._activation_handles + self._gradient_handles:
            handle.remove()
        self._handles, self._activation_handles, self._gradient_handles = [], [], []
        self._previous = {}
        model = self._model()
        if model is not None and _watches.get(model) is self:
            del _watches[model]

    def _named_modules(self) -> list[tuple[str, nn.Module]]:
        model = self._model()
        if model is None:
            return []
        named = []
        for name, module in model.named_modules():
            if next(module.children(), None) is None:  # a leaf
                named.append((clean_name(name) or type(module).__name__, module))
        return named

    def _named_parameters(self) -> list[tuple[str, nn.Parameter]]:
        model = self._model()
        if model is None:
            return []
        return [(clean_name(name), p) for name, p in model.named_parameters()]

    def _write(self, reductions: Reductions, step: int, where: str) -> None:
        try:
            if reductions:
                scalars, histograms = reductions.to_cpu()
                if where == "gradients":
                    norms = [value for tag, value in scalars if tag.startswith("gradient_norm/")]
                    total = sum(value**2 for value in norms) ** 0.5
                    scalars.append((f"gradient_norm/{TOTAL}", total))
                write_summaries(self.writer, step, scalars, histograms)
        except Exception as error:  # never into training
            self._failures.failed(where, error)

    @staticmethod
    def _remove(handles: list[RemovableHandle]) -> None:
        for handle in handles:
            handle.remove()
        handles.clear()

    # ---- hooks ----------------------------------------------------------------------------

    def _on_forward(self, module: nn.Module, args: Any) -> None:
        if not (module.training and torch.is_grad_enabled()):
            return
        step = self.step
        self.step += 1
        self._remove(self._activation_handles)  # left by a logged forward that raised
        if self._gradient_handles:
            self._remove(self._gradient_handles)  # the logged step's backward is done
        # No optimizer stepped yet: write what the hooks saw during the backward. In the
        # first window wait for one (with gradient accumulation it steps after several
        # forwards, and the hooks only saw a micro-batch).
        first_window = step < self.log_freq
        if self._gradients_step is not None and not self._optimizers and not first_window:
            self._write_gradients()
        if step % self.log_freq:
            return
        if "parameters" in self.kinds:
            self._log_parameters(step)
        if "gradients" in self.kinds:
            self._start_gradients(step)
        if "activations" in self.kinds:
            self._start_activations(module, step)

    def _on_optimizer_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if optimizer not in self._optimizers:
            if not self._holds_parameters(optimizer):
                return
            self._optimizers.add(optimizer)
        if self._gradients_step is not None:
            # The final gradients: accumulated, averaged by DDP, unscaled by GradScaler.
            self._remove(self._gradient_handles)
            self._gradients = self._read_gradients()
            self._write_gradients()

    def _holds_parameters(self, optimizer: torch.optim.Optimizer) -> bool:
        try:
            groups = optimizer.param_groups
            return any(id(p) in self._param_ids for group in groups for p in group["params"])
        except Exception:  # an optimizer-like object without param_groups
            return False

    # ---- parameters -------------------------------------------------------------------------

    def _log_parameters(self, step: int) -> None:
        reductions = Reductions()
        try:
            for name, param in self._named_parameters():
                weights = local(param)
                reductions.histogram(f"parameters/{name}", weights, f"parameter_norm/{name}")
                previous = self._previous.get(name)
                if previous is None or previous.shape != weights.shape:
                    self._previous[name] = weights.clone()
                else:
                    reductions.scalar(f"update_ratio/{name}", update_ratio(weights, previous))
                    previous.copy_(weights)
        except Exception as error:
            self._failures.failed("parameters", error)
            return
        self._write(reductions, step, "parameters")

    # ---- gradients ----------------------------------------------------------------------------

    def _start_gradients(self, step: int) -> None:
        self._gradients = Reductions()
        self._gradients_step = step
        if self._optimizers:
            return  # read just before the optimizer steps
        # No optimizer seen yet: also reduce each gradient when the backward accumulates it.
        try:
            for name, param in self._named_parameters():
                if param.requires_grad:
                    hook = _Hook(self, TorchWatch._on_gradient, name)
                    register = param.register_post_accumulate_grad_hook  # torch >= 2.1
                    self._gradient_handles.append(register(hook))  # type: ignore[no-untyped-call]
        except Exception as error:
            self._remove(self._gradient_handles)
            self._failures.failed("gradients", error)

    def _on_gradient(self, name: str, param: torch.Tensor) -> None:
        try:
            if param.grad is not None:
                gradient = local(param.grad)
                self._gradients.histogram(f"gradients/{name}", gradient, f"gradient_norm/{name}")
        except Exception as error:
            self._failures.failed("gradients", error)

    def _read_gradients(self) -> Reductions:
        reductions = Reductions()
        try:
            for name, param in self._named_parameters():
                if param.grad is not None:
                    gradient = local(param.grad)
                    reductions.histogram(f"gradients/{name}", gradient, f"gradient_norm/{name}")
        except Exception as error:
            self._failures.failed("gradients", error)
            return Reductions()
        return reductions

    def _write_gradients(self) -> None:
        step, self._gradients_step = self._gradients_step, None
        reductions, self._gradients = self._gradients, Reductions()
        if step is not None:
            self._write(reductions, step, "gradients")

    # ---- activations --------------------------------------------------------------------------

    def _start_activations(self, root: nn.Module, step: int) -> None:
        self._activations = Reductions()
        self._activations_step = step
        self._logged_modules = set()
        self._previous_unit_dim = None
        try:
            for name, module in self._named_modules():
                hook = _Hook(self, TorchWatch._on_activation, name)
                self._activation_handles.append(module.register_forward_hook(hook))
            end = _Hook(self, TorchWatch._on_forward_end)
            self._activation_handles.append(root.register_forward_hook(end))
        except Exception as error:
            self._remove(self._activation_handles)
            self._failures.failed("activations", error)

    def _on_activation(self, name: str, module: nn.Module, args: Any, output: Any) -> None:
        if name in self._logged_modules:
            return  # a module called twice in one forward: its first output
        self._logged_modules.add(name)
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            return
        try:
            values = local(output)
            dim = unit_dim(
                values.ndim,
                features_last(module),
                is_elementwise(module, args, output),
                self._previous_unit_dim,
            )
            self._previous_unit_dim = dim
            self._activations.scalar(f"dead_fraction/{name}", dead_fraction(values, dim))
            saturated = saturated_fraction(module, values)
            if saturated is None:
                saturated = torch.zeros((), device=values.device)
            self._activations.scalar(f"saturated_fraction/{name}", saturated)
            self._activations.histogram(f"activations/{name}", values)
        except Exception as error:
            self._failures.failed(f"activations of {name}", error)

    def _on_forward_end(self, module: nn.Module, args: Any, output: Any) -> None:
        # Removed now, so that a checkpointed segment's recompute is not logged again.
        self._remove(self._activation_handles)
        reductions, self._activations = self._activations, Reductions()
        self._write(reductions, self._activations_step, "activations")
