"""Files beside the event files, and where they may lead: one policy for every plugin.

Some plugins read files that are not event files from the log directory: the
projector's ``projector_config.pbtxt`` and the tensors, metadata, bookmarks and
sprites it names, the profile plugin's ``*.pt.trace.json[.gz]``. A file there
may be a symlink, and whoever can write into the log directory (a training job,
a shared mount) could point one at ``~/.ssh/id_rsa``: the server would serve it.

The rule, for all of them: a file is read only when its real path (every
symlink resolved) lies inside the real path of one of its **roots**: the
directory of the run it belongs to, or a log directory the server was given.
A symlink to another run's file, or anywhere else under the log directory, is
fine; one that leads outside is refused with :class:`OutsideError` (a plugin
answers it as it answers an unreadable file, naming it). A run directory that
is itself a symlink from outside the log directory (the event-file reader
follows those, as TensorBoard does) keeps its own files readable, since it is
one of the roots.

URLs (fsspec) have no symlinks: there a path must stay under a root once
``..`` segments are resolved.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

from lumiboard.reader.names import safe_text
from lumiboard.writer.fs import is_remote


class OutsideError(ValueError):
    """A file beside the event files leads outside its run and the log directories."""


def confine(path: str, roots: Iterable[str]) -> str:
    """The real path of ``path`` (a URL unchanged but normalized), if it lies inside
    one of ``roots``; :class:`OutsideError` naming ``path`` otherwise."""
    places = [root for root in roots if root]
    if is_remote(path):
        scheme, _, rest = path.partition("://")
        normal = f"{scheme}://{posixpath.normpath(rest)}" if rest else path
        if any(_under(normal, root.rstrip("/"), "/") for root in places if is_remote(root)):
            return normal
        raise OutsideError(f"{_shown(path)!r} resolves outside the log directory")
    real = os.path.realpath(path)
    for root in places:
        if is_remote(root):
            continue
        base = os.path.realpath(root)
        try:
            inside = os.path.commonpath([base, real]) == base
        except ValueError:  # different drives
            inside = False
        if inside:
            return real
    raise OutsideError(f"{_shown(path)!r} resolves outside the log directory")


def _under(path: str, root: str, separator: str) -> bool:
    return path == root or path.startswith(root + separator)


def _shown(path: str) -> str:
    # The base name only: the client needs to know which file, not where the server keeps it.
    return safe_text(os.path.basename(path.rstrip("/\\")) or path)
