"""Stored series: per-series numpy columns, blobs by reference, and query-time reduction."""
