"""Write ``tests/fixtures/xplane/jax``: a real JAX profile (xplane and its JSON traces).

Usage (JAX is not a dependency of lumiboard; use a separate venv)::

    python -m venv /tmp/jaxvenv
    /tmp/jaxvenv/bin/pip install "jax[cpu]==0.10.2"
    /tmp/jaxvenv/bin/python scripts/make_jax_profile_fixtures.py

A tiny jitted linear-regression training step runs on CPU inside
``jax.profiler.trace(log_dir, create_perfetto_trace=True)``, each step in
``jax.profiler.StepTraceAnnotation("train", step_num=step)``, the guide's way to
profile JAX and mark its steps. JAX writes
``<log_dir>/plugins/profile/<timestamp>/`` with ``<host>.xplane.pb``,
``<host>.trace.json.gz`` and ``perfetto_trace.json.gz``; all three are copied into the
fixture, the timestamp directory and the host renamed to fixed names (the host name
is the machine's, the timestamp today's). Only file names change: what the files
hold (the host name inside the xplane, process ids) is left as JAX wrote it. The
profile lies at the log directory's root, so its run is ``.``.
tests/unit/test_profile_xplane_discovery.py reads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # CPU only: the fixture must not vary

import jax
import jax.numpy as jnp
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "xplane" / "jax"
SPAN = "2026_01_01_00_00_00"
HOST = "host"
STEPS = 5
#: A committed fixture stays under this size.
MAX_BYTES = 2 << 20


@jax.jit
def train_step(w: jax.Array, x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    def loss(w: jax.Array) -> jax.Array:
        return jnp.mean((x @ w - y) ** 2)

    value, gradient = jax.value_and_grad(loss)(w)
    return w - 0.1 * gradient, value


def train(log_dir: Path) -> None:
    # NumPy's generator, not jax.random: its programs' HLO would make most of the file.
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(16, 8)).astype("float32"))
    y = jnp.asarray(rng.normal(size=(16, 1)).astype("float32"))
    w = jnp.zeros((8, 1))
    w, loss = train_step(w, x, y)  # compiled before profiling, as the guide advises
    loss.block_until_ready()
    with jax.profiler.trace(str(log_dir), create_perfetto_trace=True):
        for step in range(STEPS):
            with jax.profiler.StepTraceAnnotation("train", step_num=step):
                w, loss = train_step(w, x, y)
                loss.block_until_ready()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp) / "logs"
        train(log_dir)
        sessions = sorted(log_dir.glob("plugins/profile/*"))
        if len(sessions) != 1:
            raise SystemExit(f"expected one profile session, found {sessions}")
        (xplane,) = sessions[0].glob("*.xplane.pb")
        host = xplane.name.removesuffix(".xplane.pb")
        names = {
            f"{host}.xplane.pb": f"{HOST}.xplane.pb",
            f"{host}.trace.json.gz": f"{HOST}.trace.json.gz",
            "perfetto_trace.json.gz": "perfetto_trace.json.gz",
        }
        found = sorted(path.name for path in sessions[0].iterdir())
        if found != sorted(names):
            raise SystemExit(f"expected {sorted(names)}, found {found}")
        if OUT.exists():
            shutil.rmtree(OUT)
        target = OUT / "plugins" / "profile" / SPAN
        target.mkdir(parents=True)
        for name, fixed in names.items():
            shutil.copyfile(sessions[0] / name, target / fixed)
            size = (target / fixed).stat().st_size
            if size > MAX_BYTES:
                raise SystemExit(f"{target / fixed} is {size} bytes, over {MAX_BYTES}")
            print(target / fixed, size)


if __name__ == "__main__":
    main()
