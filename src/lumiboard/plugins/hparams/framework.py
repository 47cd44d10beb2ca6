"""Hyperparameters that frameworks' own loggers keep outside hparams summaries.

A run without a ``_hparams_/session_start_info`` of its own becomes a session when
its framework left its hyperparameters elsewhere:

- **Lightning** (``TensorBoardLogger``, ``CSVLogger``) writes ``hparams.yaml`` into the
  run directory (``<save_dir>/<name>/version_N[/sub_dir]``, beside the event file). Its
  TensorBoardLogger also writes an hparams summary when it logs metrics with them (the
  default ``hp_metric``); that summary wins, so nothing is shown twice. With
  ``default_hp_metric=False`` the YAML is all there is.
- **transformers** (``TensorBoardCallback``) writes ``TrainingArguments`` as JSON in the
  text summary ``args`` (tag ``args/text_summary``). ``model_config`` is not read: it
  describes the architecture rather than the training (``hidden_size``, ``id2label`` maps
  that can hold thousands of entries) and stays in the Text dashboard.

The values follow :mod:`.framework_values` (nested YAML flattened with ``/``, as
Lightning names them in its own summary). Nothing here raises on a bad file: a YAML that
is not a mapping, does not parse, is over :data:`MAX_FILE_BYTES`, is too deep or too large
(an alias bomb), or leads outside the run and the log directories is skipped, logged once
per file version and counted in :data:`skipped`. YAML is parsed with PyYAML's safe loader
(PyYAML comes with Lightning and transformers but is not a lumiboard dependency: without
it the YAML is skipped with one warning); tags such as ``!!python/tuple`` or
``!!python/object:...``, which Lightning's ``yaml.dump`` may write, are read as the plain
data they tag, never as objects.

Parsed files are cached by (path, modification time, size); a run directory on a URL is
looked at most once per :data:`REMOTE_RECHECK_SECONDS`.
"""

from __future__ import annotations

import importlib
import logging
import os
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import orjson

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.framework_values import (
    Budget,
    HParamValue,
    TooLargeError,
    flatten_config,
)
from lumiboard.plugins.text.data import decode_text
from lumiboard.reader.assets import OutsideError, confine
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.writer import fs

logger = logging.getLogger(__name__)

#: Lightning's ``TensorBoardLogger.NAME_HPARAMS_FILE``.
HPARAMS_FILE = "hparams.yaml"
#: transformers' ``add_text("args", ...)`` as torch's and tensorboardX's writers tag it.
ARGS_TAG = "args/text_summary"
#: Largest ``hparams.yaml`` or ``args`` text read.
MAX_FILE_BYTES = 1 << 20
#: How often a run directory on a URL is looked at again (local ones: every time).
REMOTE_RECHECK_SECONDS = 60.0
#: Parsed configs kept, per kind.
CACHE_ENTRIES = 1024

#: Configs skipped since start, by reason (the server's log says which file).
skipped: dict[str, int] = {}


@dataclass(frozen=True)
class RunFiles:
    """Where run directories are (to find files beside the event files)."""

    #: The directory of a run (a path or a URL), None when unknown.
    locate: Callable[[str], str | None]
    #: The log directories: a file may be a symlink leading anywhere inside them.
    roots: Sequence[str] = ()


def framework_hparams(
    provider: Provider, run: str, files: RunFiles | None
) -> dict[str, HParamValue] | None:
    """The hparams a framework kept for ``run`` (``hparams.yaml``, else the ``args`` text);
    None when it kept none (or an empty config)."""
    if files is not None:
        found = _yaml_hparams(run, files)
        if found:
            return found
    found = _args_hparams(provider, run)
    return found or None


def framework_starts(
    provider: Provider,
    runs: Iterable[str],
    known: Collection[str],
    files: RunFiles | None,
) -> dict[str, hparams_pb2.SessionStartInfo]:
    """A session start for every run in ``runs`` but not in ``known`` (runs with a session
    start of their own) whose framework kept hparams. Its group is the run (as a session
    whose writer named no group), its start time the run's first event."""
    starts: dict[str, hparams_pb2.SessionStartInfo] = {}
    for run in runs:
        if run in known:
            continue
        found = framework_hparams(provider, run, files)
        if not found:
            continue
        try:
            start_time = provider.run(run).start_time or 0.0
        except NotFoundError:
            continue  # dropped by a reload meanwhile
        starts[run] = session_start(found, start_time)
    return starts


def has_framework_hparams(provider: Provider, files: RunFiles | None) -> bool:
    """Whether some run has framework hparams (the tab is enabled by them too)."""
    return any(framework_hparams(provider, run, files) for run in provider.list_runs())


def session_start(
    hparams: Mapping[str, HParamValue], start_time: float
) -> hparams_pb2.SessionStartInfo:
    info = hparams_pb2.SessionStartInfo(start_time_secs=start_time)
    for name, value in hparams.items():
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, str):
            info.hparams[name].string_value = value
        else:
            info.hparams[name].number_value = float(value)
    return info


# ---- Lightning's hparams.yaml -----------------------------------------------------


@dataclass(frozen=True)
class _Stat:
    size: int
    #: The modification time as the file system tells it (compared, never computed with).
    mtime: str


_lock = threading.Lock()
_parsed_yaml: OrderedDict[tuple[str, int, str], dict[str, HParamValue] | None] = OrderedDict()
_parsed_args: OrderedDict[str, dict[str, HParamValue] | None] = OrderedDict()
#: URL -> (when looked, what was there).
_remote_stats: dict[str, tuple[float, _Stat | None]] = {}


def _yaml_hparams(run: str, files: RunFiles) -> dict[str, HParamValue] | None:
    directory = files.locate(run)
    if directory is None:
        return None
    location = fs.join(directory, HPARAMS_FILE)
    found = _stat(location)
    if found is None:
        return None
    if not fs.is_remote(location):
        try:
            location = confine(location, (directory, *files.roots))
        except OutsideError:
            _skip(location, "outside the log directory", "leads outside the log directories")
            return None
    key = (location, found.size, found.mtime)
    with _lock:
        if key in _parsed_yaml:
            _parsed_yaml.move_to_end(key)
            return _parsed_yaml[key]
    parsed = _parse_yaml(location, found.size)
    _remember(_parsed_yaml, key, parsed)
    return parsed


def _stat(location: str) -> _Stat | None:
    if not fs.is_remote(location):
        try:
            result = os.stat(location)  # one call: this runs for every run, on every request
        except OSError:
            return None
        if not stat.S_ISREG(result.st_mode):
            return None
        return _Stat(result.st_size, str(result.st_mtime_ns))
    now = time.monotonic()
    with _lock:
        cached = _remote_stats.get(location)
    if cached is not None and now - cached[0] < REMOTE_RECHECK_SECONDS:
        return cached[1]
    found: _Stat | None = None
    try:
        filesystem, path = fs.filesystem(location)
        info = filesystem.info(path)
        if info.get("type") == "file":
            changed = info.get("mtime") or info.get("LastModified") or info.get("updated") or ""
            found = _Stat(int(info.get("size") or 0), str(changed))
    except FileNotFoundError:
        found = None
    except Exception:  # a backend's own errors: no file to read
        logger.warning("hparams: cannot look for %s", location, exc_info=True)
    with _lock:
        _remote_stats[location] = (now, found)
        while len(_remote_stats) > 8 * CACHE_ENTRIES:
            _remote_stats.pop(next(iter(_remote_stats)))
    return found


def _parse_yaml(location: str, size: int) -> dict[str, HParamValue] | None:
    if size > MAX_FILE_BYTES:
        _skip(location, "too large", f"is {size} bytes (more than {MAX_FILE_BYTES})")
        return None
    yaml = _yaml_module()
    if yaml is None:
        _skip(location, "PyYAML missing", "cannot be read without PyYAML (pip install pyyaml)")
        return None
    try:
        data = _read(location)
    except OSError as error:
        _skip(location, "unreadable", f"cannot be read ({error.strerror or error})")
        return None
    if data is None:
        return None  # removed since it was found
    if len(data) > MAX_FILE_BYTES:
        _skip(location, "too large", f"is more than {MAX_FILE_BYTES} bytes")
        return None
    try:
        config = yaml.load(data, Loader=_loader(yaml))
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        _skip(location, "not YAML", f"is not YAML PyYAML reads safely ({_first_line(error)})")
        return None
    return _flattened(location, config, flatten=True)


def _read(location: str) -> bytes | None:
    if fs.is_remote(location):
        return fs.read_file(location)
    try:
        with open(location, "rb") as file:
            return file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None


def _yaml_module() -> ModuleType | None:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        return None


_loaders: dict[int, Any] = {}


def _loader(yaml: ModuleType) -> Any:
    """PyYAML's safe loader (the C one when built), reading unknown tags as plain data."""
    cached = _loaders.get(id(yaml))
    if cached is not None:
        return cached
    base = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

    def plain(loader: Any, node: Any) -> Any:
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            items = loader.construct_sequence(node, deep=True)
            return tuple(items) if node.tag == "tag:yaml.org,2002:python/tuple" else items
        return loader.construct_scalar(node)

    loader: Any = type("FrameworkYamlLoader", (base,), {})
    loader.add_constructor(None, plain)
    _loaders[id(yaml)] = loader
    return loader


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


# ---- transformers' args text ------------------------------------------------------


def _args_hparams(provider: Provider, run: str) -> dict[str, HParamValue] | None:
    try:
        data = provider.run(run)
    except NotFoundError:
        return None
    info = data.tags.get(ARGS_TAG)
    if info is None or info.plugin_name != "text":
        return None
    try:
        points = provider.read_tensors(run, ARGS_TAG)
    except NotFoundError:
        return None
    if not points:
        return None
    texts = decode_text(points[-1].array).reshape(-1)
    if not len(texts):
        return None
    text = str(texts[0])
    with _lock:
        if text in _parsed_args:
            _parsed_args.move_to_end(text)
            return _parsed_args[text]
    where = f"{run}: {ARGS_TAG}"
    parsed: dict[str, HParamValue] | None
    if len(text) > MAX_FILE_BYTES:
        _skip(where, "too large", f"is more than {MAX_FILE_BYTES} characters")
        parsed = None
    else:
        try:
            config = orjson.loads(text)
        except orjson.JSONDecodeError as error:
            _skip(where, "not JSON", f"is not JSON ({_first_line(error)})")
            parsed = None
        else:
            parsed = _flattened(where, config, flatten=False)
    _remember(_parsed_args, text, parsed)
    return parsed


# ---- shared -----------------------------------------------------------------------


def _flattened(where: str, config: object, *, flatten: bool) -> dict[str, HParamValue] | None:
    if not isinstance(config, Mapping):
        if config is None:
            return None  # an empty file: no hparams
        _skip(where, "not a mapping", f"holds a {type(config).__name__}, not a mapping")
        return None
    budget = Budget()
    try:
        found = flatten_config(config, flatten=flatten, budget=budget)
    except (TooLargeError, RecursionError) as error:
        _skip(where, "too large", f"is too large to read ({error})")
        return None
    for why, count in budget.dropped.items():
        skipped[f"hparam {why}"] = skipped.get(f"hparam {why}", 0) + count
        logger.warning("hparams: %s: %d hparam(s) left out (%s)", where, count, why)
    return found


def _skip(where: str, reason: str, message: str) -> None:
    with _lock:
        skipped[reason] = skipped.get(reason, 0) + 1
    logger.warning("hparams: %s %s; skipped", where, message)


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    with _lock:
        cache[key] = value
        while len(cache) > CACHE_ENTRIES:
            cache.popitem(last=False)
