"""Errors as JSON: typed errors become 4xx, anything else a 500 without a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from lumiboard.server.responses import json_response
from lumiboard.store.patterns import PatternError
from lumiboard.store.provider import NotFoundError

logger = logging.getLogger(__name__)


class BadRequestError(ValueError):
    """A request parameter is missing or invalid; the message says which."""


async def not_found(request: Request, error: Exception) -> Response:
    return json_response({"error": str(error)}, status_code=404)


async def bad_request(request: Request, error: Exception) -> Response:
    return json_response({"error": str(error)}, status_code=400)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return json_response({"error": error.detail}, status_code=error.status_code)


async def internal_error(request: Request, error: Exception) -> Response:
    # The traceback goes to the server's log, never to the client.
    logger.exception("error serving %s", request.url.path, exc_info=error)
    return json_response({"error": "internal server error"}, status_code=500)


HANDLERS = {
    NotFoundError: not_found,
    BadRequestError: bad_request,
    # A user's regex refused or too slow, where a route does not say which parameter.
    PatternError: bad_request,
    HTTPException: http_error,
    Exception: internal_error,
}
