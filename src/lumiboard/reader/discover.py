"""Runs under one or many log directories.

``parse_logdir`` turns what the user typed (``--logdir``) into sources;
``list_runs`` lists the runs under them, as TensorBoard does:

- a **run** is a directory that *directly* holds at least one event file;
- an **event file**'s basename contains ``tfevents`` and does not end with
  ``.profile-empty`` (TensorBoard's ``io_wrapper.IsSummaryEventsFile``: such a
  file is a marker the Keras profiler leaves, holding no summaries);
- a run is **named** by its path relative to its source, with ``/`` on every OS,
  and ``.`` for the source itself; runs of a named source get ``name/`` in front
  (``name`` alone for its root), as in TensorBoard's ``--logdir_spec``.

Deliberate differences from TensorBoard's ``GetLogdirSubdirectories``:

- a directory whose only event file is a ``.profile-empty`` marker is not a run
  (TensorBoard lists it, with nothing in it to load);
- a symlinked directory is followed, as there, but never into one of its own
  ancestors: TensorBoard walks round a symlink cycle until the OS refuses the
  path, which with two subdirectories on the way takes practically forever;
- a directory that cannot be listed is skipped (and reported once), and a
  logdir that does not exist yet, or is a file, has no runs: a server can be
  started first and the runs appear when training creates them.

Listing is stateless: each call looks again, so new runs appear in the next
call, and a run deleted since is absent from it. :func:`discover_runs` also says
which places could not be listed this time (permissions, a network error), so
that a caller can tell a run that is gone from one that could not be seen.

Names are text a browser can show: a directory name that is not valid UTF-8
(``os.fsdecode`` gives lone surrogates for its bytes, which JSON cannot carry)
is named with each such byte as ``\\xNN`` (:mod:`lumiboard.reader.names`), and
the run keeps its real path as its ``location``.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from lumiboard.reader.mlflow_uri import is_mlflow
from lumiboard.reader.names import safe_names
from lumiboard.writer.fs import filesystem, is_remote, join, normalize

logger = logging.getLogger(__name__)

#: What one ``--logdir`` value may be: a spec string, a path, or one entry per item.
Logdir: TypeAlias = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"

# A spec entry that starts like a URL has no run-group name, as in TensorBoard
# (its ``uri_pattern``, after ParseURI in tensorflow/core/lib/io/path.cc), plus
# fsspec's chained URLs (``simplecache::s3://bucket/x``).
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*(?:://|::)")

# ``C:\logs`` is a Windows path on every OS, not the group "C" (TensorBoard
# decides with os.path.splitdrive, which only knows drives on Windows).
_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:\\")


@dataclass(frozen=True)
class Source:
    """One entry of ``--logdir`` (or ``--logdir_spec``)."""

    #: The run-group name (``name:path``), or None for a plain path.
    name: str | None
    #: A local path (``~`` expanded, absolute) or an fsspec URL.
    location: str


@dataclass(frozen=True)
class EventFile:
    """An event file as listed: where it is and how many bytes it had."""

    path: str
    size: int


@dataclass(frozen=True)
class Run:
    """A directory that directly holds event files."""

    name: str
    #: The run directory: a local path or a URL.
    location: str
    #: Its event files, sorted by basename (the order TensorBoard reads them in).
    files: tuple[EventFile, ...]


@dataclass(frozen=True)
class Discovery:
    """What one listing found: the runs, and the places it could not list."""

    runs: dict[str, Run]
    #: Directories (or URLs) that exist but could not be listed this time: a run
    #: under one of them may still be there, unseen.
    unlisted: tuple[str, ...]

    def hides(self, location: str) -> bool:
        """Whether ``location`` lies in (or is) a place that could not be listed."""
        return any(_within(location, place) for place in self.unlisted)


def parse_logdir(logdir: Logdir) -> list[Source]:
    """Parse a ``--logdir`` value into its sources.

    A string is TensorBoard's ``--logdir_spec`` form, a comma-separated list of
    entries, each ``path`` or ``name:path``:

    - ``name`` is the text before the first ``:`` when it holds no ``/`` or
      ``\\``; an entry that starts like a URL (``s3://b/x``, ``gs://b``,
      ``simplecache::s3://b``) or a Windows drive (``C:\\logs``) has no name;
    - ``~`` is expanded and local paths made absolute; ``file://`` URLs are
      local paths.

    A path object is one local path, read literally (commas and colons
    included); so is each item of a list, which may be ``name:path`` but is
    never split at commas.

    With more than one source, runs of a source without a name are named after
    the source's last path component (see :func:`list_runs`).

    Raises ``ValueError`` for an empty value or entry, a name with no path, an
    empty name, or a name or location given twice.

    >>> parse_logdir("train:/tmp/a,s3://bucket/b")
    [Source(name='train', location='/tmp/a'), Source(name=None, location='s3://bucket/b')]
    """
    if isinstance(logdir, str):
        if not logdir.strip():
            raise ValueError("the log directory is empty: give a path, URL or name:path list")
        sources = [_parse_entry(entry, logdir) for entry in logdir.split(",")]
    elif isinstance(logdir, os.PathLike):
        sources = [Source(None, _location(_fspath(logdir)))]
    elif isinstance(logdir, Sequence) and not isinstance(logdir, bytes):
        sources = [
            _parse_entry(item, item)
            if isinstance(item, str)
            else Source(None, _location(_fspath(item)))
            for item in logdir
        ]
        if not sources:
            raise ValueError("no log directory given: the list is empty")
    else:
        raise TypeError(f"logdir must be a string, a path or a list of them, not {logdir!r}")
    _check_unique(sources)
    return sources


def list_runs(sources: Sequence[Source]) -> dict[str, Run]:
    """Every run under ``sources``, by name, in name order (see :func:`discover_runs`)."""
    return discover_runs(sources).runs


def discover_runs(sources: Sequence[Source]) -> Discovery:
    """Every run under ``sources``, by name, in name order, and the places not listed.

    With one source without a name (a plain ``--logdir``) runs are named by
    their path relative to it. Otherwise every source has a prefix, so that
    names never collide: its name, or for an unnamed one its last path
    component, made unique with ``_2``, ``_3`` ... in source order
    (``/a/logs,/b/logs`` gives ``logs/...`` and ``logs_2/...``).

    Local trees are walked with ``os.scandir``; a URL is listed with one
    recursive ``find`` call on its fsspec filesystem. A missing location, a file
    given as a directory, or a directory that cannot be read gives no runs and
    a warning (once per place), never an exception. A URL whose scheme has no
    installed backend raises ``ImportError`` (a configuration error). A place
    that exists but cannot be listed (not one that is missing), or whose
    backend fails in any way, is in ``unlisted``: its runs are kept, the other
    sources are listed.

    Names are made JSON-safe by :func:`lumiboard.reader.names.safe_names`.
    """
    _check_unique(sources)
    found: dict[str, tuple[str, tuple[EventFile, ...]]] = {}
    unlisted: list[str] = []
    for source, prefix in zip(sources, _prefixes(sources), strict=True):
        location = normalize(source.location)  # a Source made by hand may say file://
        if is_mlflow(location):
            from lumiboard.reader.mlflow_source import list_mlflow  # MLflow runs, mirrored

            listed = list_mlflow(location, unlisted)
        elif is_remote(location):
            listed = _list_remote(location, unlisted)
        else:
            listed = _list_local(location, unlisted)
        for relative, directory, files in listed:
            if prefix is None:
                name = relative
            else:
                name = prefix if relative == "." else f"{prefix}/{relative}"
            found[name] = (directory, files)
    shown = safe_names(found)
    runs = {shown[name]: Run(shown[name], *found[name]) for name in found}
    return Discovery(dict(sorted(runs.items())), tuple(unlisted))


def _within(location: str, place: str) -> bool:
    if location == place:
        return True
    separators = "/" if is_remote(place) else "/" + os.sep
    return location.startswith(place) and (
        place.endswith(tuple(separators)) or location[len(place)] in separators
    )


def is_event_file(basename: str) -> bool:
    """True for an event file's name (TensorBoard's ``IsSummaryEventsFile``)."""
    return "tfevents" in basename and not basename.endswith(".profile-empty")


# ---- parsing ------------------------------------------------------------------


def _parse_entry(entry: str, spec: str) -> Source:
    text = entry.strip()
    if not text:
        raise ValueError(f"empty entry in log directory list {spec!r}")
    name, path = _split_name(text)
    if name is not None and not path:
        raise ValueError(f"log directory entry {text!r} names {name!r} but gives no path after ':'")
    return Source(name, _location(path))


def _split_name(text: str) -> tuple[str | None, str]:
    """Split ``name:path``; a URL, a Windows drive or a colon in a path has no name."""
    if _URL.match(text) or _WINDOWS_DRIVE.match(text) or os.path.splitdrive(text)[0]:
        return None, text
    prefix, colon, path = text.partition(":")
    if not colon or "/" in prefix or "\\" in prefix:
        return None, text
    if not prefix:
        raise ValueError(f"log directory entry {text!r} has an empty name before ':'")
    if prefix in {".", ".."}:
        raise ValueError(f"log directory entry {text!r}: {prefix!r} cannot name runs")
    return prefix, path


def _location(path: str) -> str:
    text = normalize(path)
    if is_remote(text):
        stripped = text.rstrip("/")
        # "memory://" is a root; "s3://bucket/x/" is "s3://bucket/x".
        return text if stripped.endswith(":") else stripped
    return os.path.abspath(os.path.expanduser(text))


def _fspath(path: os.PathLike[str]) -> str:
    text = os.fspath(path)
    if not isinstance(text, str):
        raise TypeError(f"log directory paths must be text, not {text!r}")
    return text


def _check_unique(sources: Sequence[Source]) -> None:
    names: set[str] = set()
    locations: set[str] = set()
    for source in sources:
        if source.name is not None:
            if source.name in names:
                raise ValueError(f"the run name {source.name!r} is given to two log directories")
            names.add(source.name)
        if source.location in locations:
            raise ValueError(f"the log directory {source.location!r} is listed twice")
        locations.add(source.location)


def _prefixes(sources: Sequence[Source]) -> list[str | None]:
    """The run-name prefix of each source (None: runs named by relative path only)."""
    if len(sources) == 1:
        return [sources[0].name]
    taken = {source.name for source in sources if source.name is not None}
    prefixes: list[str | None] = []
    for source in sources:
        if source.name is not None:
            prefixes.append(source.name)
            continue
        base = _last_component(source.location)
        prefix, count = base, 1
        while prefix in taken:
            count += 1
            prefix = f"{base}_{count}"
        taken.add(prefix)
        prefixes.append(prefix)
    return prefixes


def _last_component(location: str) -> str:
    if is_mlflow(location):
        return "mlflow"
    if is_remote(location):
        scheme, _, path = location.rpartition("://")
        parts = [part for part in path.split("/") if part]
        return parts[-1] if parts else scheme.rpartition("::")[2] or "logdir"
    parts = [part for part in re.split(r"[\\/]", location) if part and not part.endswith(":")]
    return parts[-1] if parts else "logdir"


# ---- listing ------------------------------------------------------------------

#: (relative name, run directory, event files) for each run of one source.
_Listing = list[tuple[str, str, tuple[EventFile, ...]]]

_JUNCTIONS = os.name == "nt"

# Problems already logged, as (kind, place): a reload every few seconds must
# not repeat the same warning. A place that recovers is forgotten, so a second
# outage is reported again.
_reported: set[tuple[str, str]] = set()


def _report_once(kind: str, place: str, message: str, *args: object) -> None:
    if (kind, place) not in _reported:
        _reported.add((kind, place))
        logger.warning(message, *args)


def _list_local(root: str, unlisted: list[str] | None = None) -> _Listing:
    unlisted = [] if unlisted is None else unlisted
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        _report_once("missing", root, "log directory %s does not exist (yet): no runs", root)
        return []
    except OSError as error:
        _report_once("unreadable", root, "cannot read log directory %s: %s", root, error)
        unlisted.append(root)
        return []
    _reported.discard(("missing", root))
    if not stat.S_ISDIR(mode):
        _report_once("not-dir", root, "log directory %s is not a directory: no runs", root)
        return []

    # Depth-first. This loop runs once per directory entry of the whole tree,
    # every reload, so it is kept flat: one scandir per directory, one stat per
    # event file (for its size; free on Windows), and none for anything else.
    listing: _Listing = []
    stack = [(root, "")]
    while stack:
        directory, relative = stack.pop()
        prefix = f"{relative}/" if relative else ""
        files: list[tuple[str, str, int]] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir():  # follows symlinks, as TensorBoard's walk does
                            if _is_link(entry) and _leads_back(root, relative, entry.path):
                                continue
                            stack.append((entry.path, prefix + entry.name))
                        elif is_event_file(entry.name):
                            files.append((entry.name, entry.path, entry.stat().st_size))
                    except OSError as error:
                        # A broken symlink, or an entry removed since it was listed.
                        logger.debug("skipping %s: %s", entry.path, error)
        except FileNotFoundError:
            continue  # removed while we walk: its runs are gone
        except OSError as error:
            # Permission denied, an I/O error...: skip this directory only, and say
            # that its runs (if any) could not be seen, not that they are gone.
            _report_once("unreadable", directory, "skipping %s: %s", directory, error)
            unlisted.append(directory)
            continue
        _reported.discard(("unreadable", directory))
        if files:
            files.sort()
            run_files = tuple(EventFile(path, size) for _, path, size in files)
            listing.append((relative or ".", directory, run_files))
    return listing


def _is_link(entry: os.DirEntry[str]) -> bool:
    # Windows junctions are no symlinks to is_symlink() but can form cycles too.
    return entry.is_symlink() or (_JUNCTIONS and bool(getattr(entry, "is_junction", bool)()))


def _leads_back(root: str, relative: str, link: str) -> bool:
    """True when the symlinked directory ``link`` is one of its own ancestors.

    Only a symlink can close a cycle, so only symlinks pay for this: the real
    path of each directory on the way down from ``root``, from its logical path.
    """
    target = os.path.realpath(link)
    parts = relative.split("/") if relative else []
    for depth in range(len(parts) + 1):
        if os.path.realpath(os.path.join(root, *parts[:depth])) == target:
            _report_once("cycle", link, "not following %s: it leads back to %s", link, target)
            return True
    return False


def _list_remote(location: str, unlisted: list[str] | None = None) -> _Listing:
    unlisted = [] if unlisted is None else unlisted
    fs, root = filesystem(location)
    base = str(root).rstrip("/")
    try:
        # One recursive listing (a flat prefix listing on object stores), not
        # one call per directory as TensorBoard's globbing does.
        found = fs.find(root, detail=True)
    except FileNotFoundError:
        found = {}
    except Exception as error:
        # OSError, or a backend's own error (gcsfs' HttpError, botocore's
        # NoCredentialsError): this source is not listed this pass, its runs
        # are kept, and the other sources are read as usual.
        _report_once("unreadable", location, "cannot list %s: %r", location, error)
        unlisted.append(location)
        return []
    _reported.discard(("unreadable", location))

    by_directory: dict[str, list[tuple[str, int]]] = {}
    for path, info in found.items():
        if not path.startswith(base + "/") or info.get("type", "file") != "file":
            continue
        relative_dir, _, name = path[len(base) + 1 :].rpartition("/")
        if is_event_file(name):
            size = int(info.get("size") or 0)
            by_directory.setdefault(relative_dir or ".", []).append((name, size))
    if not found:
        _report_once("missing", location, "no files under %s (yet): no runs", location)
    else:
        _reported.discard(("missing", location))

    listing: _Listing = []
    for relative, entries in by_directory.items():
        directory = location if relative == "." else _join_url(location, relative)
        entries.sort()
        files = tuple(EventFile(_join_url(directory, name), size) for name, size in entries)
        listing.append((relative, directory, files))
    return listing


def _join_url(directory: str, name: str) -> str:
    # A root URL ("memory://") already ends with its separator.
    return directory + name if directory.endswith("://") else join(directory, name)
