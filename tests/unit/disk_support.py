"""A full disk under an event writer, shared by the writer tests.

Imported by the test modules (``from disk_support import ...``); pytest puts this directory on
``sys.path`` because ``tests/unit`` is not a package.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from lumiboard.writer.event_file import EventFileWriter


class FullDisk:
    """An unbuffered file on a disk with ``free`` bytes left (None: unlimited).

    As a real one: the write that reaches the limit is short (what fits lands
    on disk), the next raises ``ENOSPC``.
    """

    def __init__(self, real: Any, free: int | None) -> None:
        self.real = real
        self.free = free

    def write(self, data: memoryview) -> int:
        if self.free is None:
            return int(self.real.write(data))
        if self.free == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = int(self.real.write(data[: self.free]))
        self.free -= written
        return written

    def fileno(self) -> int:
        return int(self.real.fileno())

    def close(self) -> None:
        self.real.close()


def fill_disk(writer: EventFileWriter, free: int | None) -> FullDisk:
    """Put ``writer``'s current file on a disk with ``free`` bytes left."""
    sink: Any = writer._sink
    disk = FullDisk(sink._file, free)
    sink._file = disk
    return disk
