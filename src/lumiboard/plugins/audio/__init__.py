"""The ``audio`` plugin: WAV clips."""
