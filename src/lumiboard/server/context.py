"""What every route handler can reach: the data, the loader and the options."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.requests import Request

from lumiboard.reader.reload import Reloader
from lumiboard.server.errors import BadRequestError
from lumiboard.store.provider import Provider


@dataclass
class ServerOptions:
    """Options the server shows in /data/environment and uses for requests."""

    data_location: str = ""
    window_title: str = ""
    reload_interval: float = 5.0
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """The state shared by all routes."""

    reloader: Reloader
    provider: Provider
    options: ServerOptions

    def logdirs(self) -> list[str]:
        """The log directories: a file beside event files may lead anywhere inside them
        (:func:`lumiboard.reader.assets.confine`)."""
        return [source.location for source in self.reloader.sources]


def context(request: Request) -> Context:
    """The :class:`Context` of the app serving ``request``."""
    found: Context = request.app.state.context
    return found


def query(request: Request, name: str) -> str:
    """A required query parameter; 400 naming it when missing."""
    value = request.query_params.get(name)
    if value is None:
        raise BadRequestError(f"missing query parameter {name!r}")
    return value


#: An integer query parameter: an optional '-' and up to 19 ASCII digits (int64). ``int()``
#: would also take " 3 ", "1_0" and other scripts' digits ("١٢").
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def query_int(request: Request, name: str, low: int, high: int) -> int | None:
    """An optional integer query parameter in ``[low, high]``: None when absent; a 400
    naming it when it is anything else, empty (``id=``) included (never read as 0 or
    as "absent": a script that builds a URL from an unset variable learns it at once)."""
    text = request.query_params.get(name)
    if text is None:
        return None
    if not _INTEGER.fullmatch(text):
        raise BadRequestError(f"{name!r} must be an integer, got {text[:40]!r}")
    value = int(text)
    if not low <= value <= high:
        raise BadRequestError(f"{name!r} must be in [{low}, {high}]")
    return value


def body_int(value: object, name: str) -> int:
    """An integer field of a JSON body (not a bool); 400 naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{name!r} must be an integer")
    return value


def body_step(value: object, name: str) -> int | None:
    """An optional step bound of a JSON body, clamped to int64.

    Steps are int64: a bound beyond that range selects the same points as its limit.
    """
    return None if value is None else min(max(body_int(value, name), -(2**63)), 2**63 - 1)
