"""``mlflow+<tracking URI>`` log directories: what they name, and links into MLflow's UI.

``--logdir mlflow+http://host:5000`` reads every active experiment of that tracking
server; ``?experiment=NAME`` (repeatable: ``&experiment=OTHER``; not a comma, which
separates ``--logdir`` entries) reads only the experiments named. Anything after
``mlflow+`` is handed to ``MlflowClient`` as its tracking URI: ``http(s)://``,
``sqlite:///path/mlflow.db``, ``postgresql://...``, ``databricks`` ... This module imports
no MLflow: the reader and the server ask it whether a location is one, cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

#: What a log directory starts with to be read from MLflow.
PREFIX = "mlflow+"
#: The query key that selects experiments by name.
EXPERIMENT_KEY = "experiment"


@dataclass(frozen=True)
class MlflowLocation:
    """One ``mlflow+...`` log directory."""

    #: The tracking URI as MLflow takes it (``?experiment=`` removed).
    tracking_uri: str
    #: Experiment names to read; empty: every active experiment.
    experiments: tuple[str, ...]


def is_mlflow(location: str) -> bool:
    """Whether a log directory is an MLflow tracking URI (``mlflow+...``)."""
    return location.startswith(PREFIX)


def parse_mlflow(location: str) -> MlflowLocation:
    """Split ``mlflow+URI[?experiment=NAME]``; ``ValueError`` when no URI follows."""
    if not is_mlflow(location):
        raise ValueError(f"{location!r} does not start with {PREFIX!r}")
    uri = location[len(PREFIX) :]
    base, question, query = uri.partition("?")
    if not base.strip():
        raise ValueError(f"{location!r} names no tracking URI after {PREFIX!r}")
    pairs = parse_qsl(query, keep_blank_values=True) if question else []
    experiments = tuple(dict.fromkeys(v for k, v in pairs if k == EXPERIMENT_KEY and v.strip()))
    rest = [(k, v) for k, v in pairs if k != EXPERIMENT_KEY]
    tracking = base + (f"?{urlencode(rest)}" if rest else "")
    return MlflowLocation(tracking, experiments)


def is_http(tracking_uri: str) -> bool:
    return tracking_uri.lower().startswith(("http://", "https://"))


def shown(tracking_uri: str) -> str:
    """The URI for a log line: scheme and host (or the path of a database), never a password
    or a token in a query."""
    parts = urlsplit(tracking_uri)
    if not parts.scheme:
        return tracking_uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path if not host else ''}"


def run_page(tracking_uri: str, experiment_id: str, run_id: str) -> str | None:
    """The run's page in MLflow's UI, for a tracking server reached over HTTP(S); None for a
    database or file URI (no UI to open). Credentials in the URI are left out."""
    if not is_http(tracking_uri):
        return None
    parts = urlsplit(tracking_uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    base = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    return f"{base}/#/experiments/{quote(experiment_id, safe='')}/runs/{quote(run_id, safe='')}"
