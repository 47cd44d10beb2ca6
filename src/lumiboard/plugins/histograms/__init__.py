"""The histograms plugin: encoding (summary.py), decoding and routes."""
