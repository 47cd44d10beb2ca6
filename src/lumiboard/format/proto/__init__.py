"""Generated protobuf code, wire-compatible with TensorBoard's protos.

Regenerate with ``python scripts/gen_protos.py``. The proto package is
``lumiboard`` (not ``tensorboard``) so that both can live in one process.
"""
