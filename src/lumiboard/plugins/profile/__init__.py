"""The Profile dashboard: PyTorch profiler traces (``*.pt.trace.json[.gz]``)."""
