"""The mesh plugin: encoding (summary.py), decoding and routes."""
