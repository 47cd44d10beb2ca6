"""The scalars plugin: encoding (summary.py), decoding and routes."""
