"""The custom_scalars plugin: encoding (summary.py), decoding and routes."""
