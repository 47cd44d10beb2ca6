"""Alerts from training code: :func:`alert` records one in the run, as an ordinary text summary.

An alert is a text value at tag ``alerts`` whose markdown is ``**<LEVEL>: <title>**`` and,
when there is a text, a blank line and the text; its metadata's ``summary_description``
is the JSON ``{"lumiboard_alert": 1, "level": ..., "title": ...}``. TensorBoard's text
dashboard shows it like any text; lumiboard's reader recognises the description and lists
the alert among the run's health flags (``/data/health``, ``Experiment.health()``, the
webhook). The level and title of each alert are read back from its markdown: a reader
keeps only the first metadata of a tag.

Example::

    import lumiboard
    from lumiboard import summary

    writer = summary.create_file_writer("runs/exp1")
    with writer.as_default(step=0):
        for step in range(1000):
            loss = train_step()
            if loss > 10:
                lumiboard.alert("Loss above 10", f"loss={loss:.3g}", level="warning", step=step)
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import numpy as np

from lumiboard.plugins.text import summary as text_summary
from lumiboard.writer import functional
from lumiboard.writer.summary_writer import SummaryWriter

#: The tag alerts are written at.
ALERT_TAG = "alerts"
LEVELS = ("info", "warning", "error")
#: Alerts a reader keeps per run and tag (text keeps a sample of 100 by default: alerts
#: are events, not samples).
KEPT_ALERTS = 10_000

_MARKDOWN = re.compile(r"\*\*(INFO|WARNING|ERROR): ([^\n]*)\*\*(?:\n\n(.*))?", re.DOTALL)


def alert(
    title: str,
    text: str = "",
    level: str = "info",
    *,
    writer: Any = None,
    step: int | None = None,
) -> None:
    """Record an alert in the run ``writer`` writes: shown in lumiboard's Health view, sent
    to the server's ``--alert-webhook``, and readable by TensorBoard as text (tag ``alerts``).

    Args:
        title: One line saying what happened (newlines become spaces).
        text: More detail, markdown (optional).
        level: ``"info"``, ``"warning"`` or ``"error"``.
        writer: A :class:`lumiboard.SummaryWriter` or a ``lumiboard.summary`` writer.
            By default the ``summary`` writer set as default
            (``with writer.as_default():``); without one, ``ValueError``.
        step: The step it happened at. By default: a ``summary`` writer's default step
            (``as_default(step=)``, ``summary.set_step``; ``ValueError`` when there is
            none); for a ``SummaryWriter``, 0 (pass it: the app marks the alert on charts
            at its step).

    Example::

        writer = lumiboard.SummaryWriter("runs/exp1")
        lumiboard.alert("Loss is NaN", f"at step {step}", level="error", writer=writer, step=step)
    """
    if not isinstance(title, str) or not title.strip():
        raise ValueError("an alert needs a title (a non-empty str)")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    title = " ".join(title.split())  # one line: the markdown's first line is the title
    value = text_summary.text_value(
        ALERT_TAG,
        np.asarray(alert_markdown(level, title, text), dtype=object),
        description=alert_description(level, title),
    )
    target = functional.get_default_writer() if writer is None else writer
    if target is None:
        raise ValueError(
            "no writer: pass writer= (a SummaryWriter or a summary writer), or call alert() "
            "inside `with summary_writer.as_default():`"
        )
    if isinstance(target, SummaryWriter):
        target.write_values([value], step)
    elif isinstance(target, functional.SummaryFileWriter):
        resolved = step if step is not None else functional.get_step()
        if resolved is None:
            raise ValueError("no step given: pass step= or call set_step() / as_default(step=)")
        target.write_values([value], resolved)
    else:
        raise TypeError(
            "writer must be a lumiboard.SummaryWriter or a lumiboard.summary writer, "
            f"not {type(target).__name__}"
        )


def alert_markdown(level: str, title: str, text: str) -> str:
    """The text value of an alert: ``**<LEVEL>: <title>**``, then a blank line and ``text``."""
    head = f"**{level.upper()}: {title}**"
    return f"{head}\n\n{text}" if text else head


def alert_description(level: str, title: str) -> str:
    """The ``summary_description`` that marks a text value as an alert."""
    return json.dumps({"lumiboard_alert": 1, "level": level, "title": title}, ensure_ascii=False)


@functools.lru_cache(maxsize=1024)
def is_alert_description(description: str) -> bool:
    """Whether a tag's description marks its values as alerts (see :func:`alert_description`)."""
    if '"lumiboard_alert"' not in description:
        return False
    try:
        found = json.loads(description)
    except ValueError:
        return False
    return isinstance(found, dict) and found.get("lumiboard_alert") == 1


def parse_alert(markdown: str) -> tuple[str, str, str]:
    """(level, title, text) of an alert's text value; one written some other way is an
    ``info`` whose title is its first line."""
    found = _MARKDOWN.fullmatch(markdown)
    if found is not None:
        return found.group(1).lower(), found.group(2), found.group(3) or ""
    first, _, rest = markdown.strip().partition("\n")
    return "info", first.strip(), rest.strip()
