"""The text plugin: encoding (summary.py), decoding and routes."""
