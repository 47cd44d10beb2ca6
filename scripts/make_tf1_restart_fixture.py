"""Write ``tests/fixtures/tf1_restart``: a TF1 job that was restarted once.

Usage (TensorFlow is not a dependency of lumiboard; use a separate venv)::

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0
    /tmp/tfvenv/bin/python scripts/make_tf1_restart_fixture.py

The first job writes ``loss`` at steps 0..9 with ``tf.compat.v1.summary.FileWriter``
and no ``SessionLog``; it "crashes" after step 9. The restarted job opens a new
event file, writes one ``SessionLog.START`` at step 5 (the checkpoint it resumed
from) and ``loss`` at steps 5..12. That START is the run's first, so TensorBoard
keeps all 18 points (issue 11, item 10); tests/compat/test_tf1_restart.py checks
that lumiboard does too.

The files are renamed to fixed names (TensorFlow puts the host name in them)
that keep TensorFlow's order: the restarted job's file sorts last.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import tensorflow as tf

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "tf1_restart"
tf1 = tf.compat.v1


def run_job(logdir: Path, steps: range, restart_at: int | None, offset: float) -> None:
    """One job: a graph with a scalar summary, a FileWriter, a Session."""
    graph = tf1.Graph()
    with graph.as_default():
        value = tf1.placeholder(tf.float32, shape=[])
        tf1.summary.scalar("loss", value)
        merged = tf1.summary.merge_all()
        writer = tf1.summary.FileWriter(str(logdir))
        if restart_at is not None:
            writer.add_session_log(tf1.SessionLog(status=tf1.SessionLog.START), restart_at)
        with tf1.Session(graph=graph) as session:
            for step in steps:
                writer.add_summary(session.run(merged, {value: offset + 1.0 / (step + 1)}), step)
        writer.close()


def main() -> None:
    tf1.disable_eager_execution()
    with tempfile.TemporaryDirectory() as scratch:
        logdir = Path(scratch)
        run_job(logdir, range(10), None, 0.0)
        # The event file name holds the time in seconds: the restarted job's
        # file must sort after the crashed one's, as in a real restart.
        start = int(time.time())
        while int(time.time()) == start:
            time.sleep(0.05)
        run_job(logdir, range(5, 13), 5, 100.0)
        files = sorted(logdir.glob("events.out.tfevents.*"))
        if len(files) != 2:
            raise SystemExit(f"expected 2 event files, got {[f.name for f in files]}")
        shutil.rmtree(OUT, ignore_errors=True)
        OUT.mkdir(parents=True)
        for number, path in enumerate(files):
            shutil.copyfile(path, OUT / f"events.out.tfevents.{1_600_000_000 + number}.tf1host")
    print(f"wrote {sorted(p.name for p in OUT.iterdir())} with TensorFlow {tf.__version__}")


if __name__ == "__main__":
    main()
