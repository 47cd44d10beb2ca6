"""The projector plugin: encoding (summary.py), decoding and routes."""
