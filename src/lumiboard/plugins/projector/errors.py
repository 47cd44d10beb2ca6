"""The projector's typed errors (routes answer them as 4xx JSON)."""

from __future__ import annotations


class AssetError(ValueError):
    """A config names a file that cannot be served (outside the run, bad content); a 400."""


class TooLargeError(ValueError):
    """A file is larger than the cap for its kind; a 413."""


class UnreadableError(AssetError):
    """The values are there, but lumiboard cannot read them (a TF checkpoint, no h5py,
    integers); a 422 saying why."""
