"""The pr_curves plugin: encoding (summary.py), decoding and routes."""
