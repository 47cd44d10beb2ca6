"""Where event files go: a local directory or any fsspec URL.

Local files are appended with unbuffered writes, so what the writer thread has
written is in the OS (and survives ``kill -9``) and a forked child holds no
user-space copy of the parent's bytes. A write that fails part-way (a full
disk takes what fits, then refuses the rest) is cut back to the end of the
last whole record that landed, so no partial record is ever followed by more
data and no whole record is thrown away.

Object stores (``s3://``, ``gs://``, ``memory://`` ...) cannot append. A remote
file is therefore kept in memory as one *segment* and uploaded whole on every
flush; once a segment passes ``segment_bytes`` the writer starts a new event
file, so an upload stays near that size (at most one batch of events above it)
and readers see every flush.

Remote targets are configured the fsspec way (credentials, endpoints: its
config files, ``FSSPEC_<PROTOCOL>_<OPTION>`` variables, or the backend's own,
such as ``AWS_*``).
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

#: Remote event files are rotated past this size (re-upload cost is bounded by it).
DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024

# Stores whose top level is a bucket (or container): they have no directories,
# and their ``makedirs`` would *create the bucket*, turning a typo in a URL
# into a new bucket. Writing there creates nothing; a missing bucket is
# reported by the first upload instead.
_BUCKET_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss"})

# The pip extra of lumiboard that installs the backend for a scheme.
_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}

# How error messages word each use of a URL: (doing, cannot).
_ACTIONS = {"read": ("reading", "cannot read"), "write": ("writing to", "cannot write to")}


class Sink(Protocol):
    """An open event file."""

    path: str

    #: True when a failed write left bytes that could not be removed: write no
    #: more to this file (the writer moves on to a new one).
    damaged: bool

    #: How many bytes of the last failed write stayed in the file: whole
    #: records (see ``write``), or, in a damaged file, whatever landed.
    landed: int

    def write(self, data: bytes, ends: Sequence[int] = ()) -> None:
        """Append ``data`` whole, or raise. ``ends``: where records end in ``data``
        (ascending); a failed write leaves the file ending at the last of them
        that landed (``landed`` bytes of ``data``), or as it was."""

    def sync(self) -> None:
        """Make everything written so far visible to readers."""

    def close(self) -> None: ...

    @property
    def full(self) -> bool:
        """True when the writer should move on to a new file."""

    @property
    def rotates(self) -> bool:
        """True when the file is kept in memory until ``sync`` sends it, and has
        a size past which the writer starts another."""


def is_remote(location: str) -> bool:
    """True for URLs handled by fsspec (anything with a scheme but ``file://``)."""
    return "://" in location and not location.startswith("file://")


def normalize(location: str | os.PathLike[str]) -> str:
    """Return a log directory as a string: a local path or a remote URL."""
    text = os.fspath(location)
    if text.startswith("file://"):
        return text[len("file://") :]
    return text


def join(directory: str, name: str) -> str:
    """Join a directory and a name, for local paths and URLs alike."""
    if is_remote(directory):
        return directory.rstrip("/") + "/" + name
    return os.path.join(directory, name)


def make_dirs(directory: str) -> None:
    """Create ``directory`` (object stores have no directories: nothing to do).

    For a URL this also checks, at once, that a backend for its scheme is
    installed (``ImportError``) and known (``ValueError``).
    """
    if is_remote(directory):
        fs, path = _filesystem(directory)
        if not _is_bucket_store(fs):
            fs.makedirs(path, exist_ok=True)
    else:
        Path(directory).mkdir(parents=True, exist_ok=True)


def write_file(location: str, data: bytes) -> None:
    """Write a whole small file (projector TSVs, configs) locally or remotely.

    All or nothing: a failed write (a full disk) leaves the previous file, if
    any, as it was, never a truncated one.
    """
    if is_remote(location):
        fs, path = _filesystem(location)
        if not _is_bucket_store(fs):
            fs.makedirs(posixpath.dirname(path), exist_ok=True)
        fs.pipe_file(path, data)
        return
    target = Path(location)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed over it (atomic on POSIX).
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def read_file(location: str) -> bytes | None:
    """Read a whole small file, or None when it does not exist."""
    try:
        if is_remote(location):
            fs, path = _filesystem(location)
            return bytes(fs.cat_file(path))
        return Path(location).read_bytes()
    except FileNotFoundError:
        return None


def create_sink(location: str, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> Sink:
    """Create a new file at ``location``; ``FileExistsError`` if it exists."""
    if is_remote(location):
        return RemoteSink(location, segment_bytes)
    return LocalSink(location)


class LocalSink:
    """An event file on a local disk, appended with unbuffered writes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.damaged = False
        self.landed = 0
        # "x": exclusive creation, so two processes can never share a file name.
        self._file = open(path, "xb", buffering=0)  # noqa: SIM115 - closed in close()
        # The end of the last whole write: the file never keeps bytes past it.
        self._size = 0

    def write(self, data: bytes, ends: Sequence[int] = ()) -> None:
        if self.damaged:
            raise OSError(errno.EIO, "a failed write could not be undone", self.path)
        self.landed = 0
        view = memoryview(data)
        landed = 0
        try:
            while landed < len(data):
                written = self._file.write(view[landed:])
                if not written:  # never for a regular file; do not spin on it
                    raise OSError(errno.EIO, "write() wrote nothing", self.path)
                landed += written
        except BaseException:
            self._cut_back(landed, max((end for end in ends if end <= landed), default=0))
            raise
        self._size += len(data)

    def _cut_back(self, landed: int, kept: int) -> None:
        # A short write put part of the data on disk: keep its whole records
        # (``kept`` bytes), remove the rest, and move the file position back
        # (past the end, the next write would leave a hole).
        fd = self._file.fileno()
        try:
            os.ftruncate(fd, self._size + kept)
            os.lseek(fd, self._size + kept, os.SEEK_SET)
        except OSError:
            self.damaged = True
            self.landed = landed
            return
        self._size += kept
        self.landed = kept

    def sync(self) -> None:
        # Unbuffered: every write() already reached the OS.
        return

    def close(self) -> None:
        self._file.close()

    @property
    def full(self) -> bool:
        return False

    @property
    def rotates(self) -> bool:
        return False


class RemoteSink:
    """An event file on an object store, uploaded whole at every sync.

    A failed upload leaves the segment in memory: the next sync (the next
    flush, or close) uploads it whole again, so nothing written is lost.
    """

    def __init__(self, location: str, segment_bytes: int) -> None:
        if segment_bytes <= 0:
            raise ValueError(f"segment_bytes must be positive, got {segment_bytes!r}")
        self.path = location
        # An upload replaces the whole object: a failed one leaves nothing to undo.
        self.damaged = False
        self.landed = 0
        self._fs, self._key = _filesystem(location)
        if self._fs.exists(self._key):
            raise FileExistsError(location)
        self._buffer = bytearray()
        self._uploaded = 0
        self._segment_bytes = segment_bytes

    def write(self, data: bytes, ends: Sequence[int] = ()) -> None:
        self._buffer += data

    def sync(self) -> None:
        if len(self._buffer) != self._uploaded:
            self._fs.pipe_file(self._key, bytes(self._buffer))
            self._uploaded = len(self._buffer)

    def close(self) -> None:
        self.sync()

    @property
    def full(self) -> bool:
        return len(self._buffer) >= self._segment_bytes

    @property
    def rotates(self) -> bool:
        return True


def filesystem(location: str, *, action: Literal["read", "write"] = "read") -> tuple[Any, str]:
    """The fsspec filesystem for a URL and the path inside it.

    A scheme with no backend raises ``ImportError`` (or ``ValueError`` for an
    unknown scheme) with the command that installs it: fsspec's own messages
    ("Protocol not known: ...", "Install s3fs to access S3") do not say that.
    ``action`` only words the message ("reading ..." or "writing to ...").
    """
    doing, _ = _ACTIONS[action]
    schemes = _schemes(location)
    try:
        import fsspec
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"{doing} {location!r} needs fsspec and the backend for "
            f"{schemes[-1]}://: {_install_hint(schemes[-1], None)}"
        ) from error
    for scheme in schemes:
        _check_backend(scheme, location, action)
    try:
        fs, path = fsspec.core.url_to_fs(location)
    except ImportError as error:
        # Some backends import their library only when built (hdfs:// -> pyarrow).
        package = error.name or "the missing package"
        raise ImportError(
            f"{doing} {location!r} needs {package!r}: pip install {package}"
        ) from error
    return fs, path


def _filesystem(location: str) -> tuple[Any, str]:
    """:func:`filesystem` for the writer: a missing backend raises when it is created."""
    return filesystem(location, action="write")


def _schemes(location: str) -> list[str]:
    """Every protocol of a URL, chained ones included (``simplecache::s3://b``)."""
    return [part.split("://", 1)[0] for part in location.split("::")]


def _check_backend(scheme: str, location: str, action: Literal["read", "write"]) -> None:
    # ``fsspec.registry`` is a mapping that hides the module of the same name.
    from fsspec.registry import get_filesystem_class, known_implementations

    doing, cannot = _ACTIONS[action]
    try:
        get_filesystem_class(scheme)
    except ImportError as error:
        known = known_implementations.get(scheme, {})
        package = str(known.get("class", scheme)).split(".", 1)[0].split(":", 1)[0]
        raise ImportError(
            f"{doing} {location!r} needs the {package!r} package for {scheme}://: "
            f"{_install_hint(scheme, package)}"
        ) from error
    except ValueError as error:
        raise ValueError(
            f"{cannot} {location!r}: no filesystem is known for {scheme}://. "
            "Check the URL, or install the fsspec backend for this scheme "
            "(S3: pip install 'lumiboard[s3]'; Google Cloud Storage: "
            "pip install 'lumiboard[gcs]'; others: see fsspec's known implementations)"
        ) from error


def _install_hint(scheme: str, package: str | None) -> str:
    extra = _EXTRAS.get(scheme)
    if extra is not None:
        return f"pip install 'lumiboard[{extra}]'"
    if package is None:
        return f"pip install 'lumiboard[remote]' and the fsspec backend for {scheme}://"
    return f"pip install {package}"


def _is_bucket_store(fs: Any) -> bool:
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    return not protocols.isdisjoint(_BUCKET_STORES)
