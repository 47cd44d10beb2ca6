"""Bridges to training frameworks (PyTorch), each imported only when used."""
