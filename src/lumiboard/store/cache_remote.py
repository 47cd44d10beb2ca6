"""A cache directory in an object store (``--cache-dir s3://bucket/lumiboard-cache``).

Several read-only servers over one logdir in an object store can share one
cache there: the first to load a run saves its cache file, and every replica
started later restores the run from it instead of parsing the event files.

A remote cache is *mirrored*: each cache file is downloaded whole into a local
directory and read from there, as a local cache is (every checksum checked,
the file's event files identified, see :mod:`lumiboard.store.cache`), and a
saved file is written locally first, then uploaded. The local copy is what
the memory budget maps series back from (:mod:`lumiboard.store.budget`): an
object store cannot be mapped.

Object stores have no rename: an upload goes to a temporary key beside the
file's, then is copied over the real key (a server-side copy on S3, so a
reader sees the old object or the new one, never half of one) and the
temporary key deleted. Two replicas saving the same run write files that
describe the same event files; the last copy wins, and either is valid.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import uuid
from typing import Any

from lumiboard.writer.fs import filesystem


def mirror_dir(url: str, root: str) -> str:
    """The local directory that mirrors the remote cache ``url`` under ``root``."""
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(root, "remote", digest[:16])


class RemoteCache:
    """The cache files of one remote directory, each fetched to or published from a local path."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self._fs: Any | None = None
        self._root = ""

    @property
    def fs(self) -> Any:
        # Built on first use: building it imports the backend (s3fs: ~0.3 s).
        if self._fs is None:
            self._fs, self._root = filesystem(self.url, action="write")
        return self._fs

    def key(self, name: str) -> str:
        """The object key of the cache file ``name``."""
        self.fs  # noqa: B018 - builds the filesystem, which sets the root
        return f"{self._root.rstrip('/')}/{name}" if self._root else name

    def fetch(self, name: str, local: str, max_bytes: int | None = None) -> bool:
        """Download the file ``name`` to ``local`` (atomically: a temporary file, then a
        rename); False when there is none. A file larger than ``max_bytes`` is not ours
        (see :func:`~lumiboard.store.cache.max_cache_bytes`): ``ValueError``."""
        key = self.key(name)
        try:
            info = self.fs.info(key)
        except FileNotFoundError:
            return False
        size = info.get("size")
        if max_bytes is not None and isinstance(size, int) and size > max_bytes:
            raise ValueError(f"remote cache file {key} is {size} bytes, more than {max_bytes}")
        directory = os.path.dirname(local)
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".fetch")
        os.close(handle)
        try:
            self.fs.get_file(key, temporary)
            if isinstance(size, int) and os.path.getsize(temporary) != size:
                raise OSError(f"remote cache file {key} changed while it was downloaded")
            os.replace(temporary, local)
        except FileNotFoundError:  # deleted between info and get
            _remove(temporary)
            return False
        except BaseException:
            _remove(temporary)
            raise
        return True

    def publish(self, local: str, name: str) -> None:
        """Upload ``local`` as the file ``name``: to a temporary key, then copied over it."""
        key = self.key(name)
        temporary = f"{key}.{uuid.uuid4().hex[:12]}.tmp"
        try:
            self.fs.put_file(local, temporary)
            self.fs.copy(temporary, key)
        finally:
            with contextlib.suppress(Exception):
                self.fs.rm_file(temporary)

    def delete(self, name: str) -> None:
        """Delete the file ``name`` if it is there."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.key(name))


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
