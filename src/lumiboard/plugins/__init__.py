"""Plugins: one folder per TensorBoard plugin name (summary.py encodes, data.py decodes,
routes.py serves)."""
