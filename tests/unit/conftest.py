"""Fixtures shared by the unit tests: a local S3 endpoint (moto) for ``s3://`` tests.

The packages it needs (fsspec, s3fs, moto[server]) are imported by the fixture
itself, so a test that does not use it runs without them; a test that does is
skipped when one is missing.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

#: The bucket the session's S3 server starts with.
BUCKET = "lumiboard-test"


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 endpoint, and an s3fs client that never caches listings."""

    endpoint_url: str
    client: Any
    bucket: str = BUCKET


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    fsspec = pytest.importorskip("fsspec")
    s3fs = pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    with pytest.MonkeyPatch.context() as patch:
        # Dummy credentials, and nothing read from the user's AWS setup. The
        # region goes in the environment: in client_kwargs it makes bucket
        # creation send a LocationConstraint that us-east-1 rejects.
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            patch.delenv(name, raising=False)
        # moto's server logs one line per request on stderr otherwise.
        access_log = logging.getLogger("werkzeug")
        access_log_level = access_log.level
        access_log.setLevel(logging.ERROR)

        server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            endpoint_url = f"http://{host}:{port}"
            # lumiboard builds its filesystem from the URL alone, so the
            # endpoint goes through fsspec's config (what FSSPEC_S3_ENDPOINT_URL
            # sets, but that variable is only read when fsspec is imported).
            patch.setitem(
                fsspec.config.conf, "s3", {"client_kwargs": {"endpoint_url": endpoint_url}}
            )
            client = s3fs.S3FileSystem(
                endpoint_url=endpoint_url, skip_instance_cache=True, use_listings_cache=False
            )
            client.mkdir(BUCKET)
            yield S3Server(endpoint_url, client)
        finally:
            server.stop()
            # Cached instances point at the stopped server.
            s3fs.S3FileSystem.clear_instance_cache()
            access_log.setLevel(access_log_level)


@pytest.fixture
def s3_run(s3_server: S3Server) -> str:
    """A fresh ``s3://`` log directory for one test."""
    return f"s3://{s3_server.bucket}/{uuid.uuid4().hex[:12]}"
