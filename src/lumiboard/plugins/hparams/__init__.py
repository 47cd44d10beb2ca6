"""The hparams plugin: encoding (summary.py), decoding and routes."""
