"""The graphs plugin: encoding (summary.py), decoding and routes."""
