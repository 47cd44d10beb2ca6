"""TF2-style summaries (`tf.summary` without TensorFlow).

The ops and writers are in `lumiboard.writer.functional`, the tracing functions in
`lumiboard.writer.tracing`.
"""

from lumiboard.writer.functional import (
    SummaryFileWriter,
    audio,
    create_file_writer,
    flush,
    get_default_writer,
    get_step,
    histogram,
    image,
    scalar,
    set_step,
    text,
    write,
)
from lumiboard.writer.tracing import trace_export, trace_off, trace_on

__all__ = [
    "SummaryFileWriter",
    "audio",
    "create_file_writer",
    "flush",
    "get_default_writer",
    "get_step",
    "histogram",
    "image",
    "scalar",
    "set_step",
    "text",
    "trace_export",
    "trace_off",
    "trace_on",
    "write",
]
