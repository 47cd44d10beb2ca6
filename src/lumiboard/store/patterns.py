"""Regular expressions from users, compiled and matched within bounds.

Every regex a user hands lumiboard (custom scalars' tag regexes, the hparams
``filterRegexp``, the run and tag selectors of :func:`lumiboard.read`) goes
through here, so that none can hang or exhaust the process. Python's ``re``
backtracks without limit: ``(.|.|.)*x`` against an 18-character name runs
for tens of seconds, holding the GIL all along (a server stops answering
every route, and Ctrl+C waits for it). So patterns are compiled and matched
with the ``regex`` package (a required dependency; its ``VERSION0`` is
``re``'s syntax), never ``re``:

- a pattern longer than :data:`MAX_PATTERN_LENGTH`, one that ``re`` cannot
  parse, or one whose counted repeats are large (a bound over
  :data:`MAX_REPEAT_BOUND`, or nested bounds whose product exceeds
  :data:`MAX_REPEAT_PRODUCT`: ``regex`` expands counted repeats when it
  compiles, so ``(?:(?:a{1000}){1000}){1000}`` would take all memory) is
  refused before it is compiled; compiled patterns are not cached;
- all of one request's (or one call's) matching shares a :class:`Budget`
  (:data:`MATCH_SECONDS` by default): past it, the pattern counts as too slow;
- matching releases the GIL (``concurrent=True``), so a slow pattern in a
  worker thread does not slow the other threads down.

Every refusal is a :class:`PatternError` (a ``ValueError``) whose message says why.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import regex  # type: ignore[import-untyped]  # no stubs; a required dependency

#: Time all of one request's regex matching may take, by default.
MATCH_SECONDS = 0.5
MAX_PATTERN_LENGTH = 1_000
#: The largest bound of one counted repeat (``{m,n}``: ``n``, or ``m`` when unbounded).
MAX_REPEAT_BOUND = 1_000
#: The largest product of the bounds of nested counted repeats.
MAX_REPEAT_PRODUCT = 10_000

# re's own parser: re._parser and re._constants since Python 3.11, sre_parse and
# sre_constants on 3.10 (deprecated names on 3.11+, so imported only where they are the names).
_re_parser: Any = getattr(re, "_parser", None) or importlib.import_module("sre_parse")
_re_constants: Any = getattr(re, "_constants", None) or importlib.import_module("sre_constants")
_REPEATS = tuple(
    getattr(_re_constants, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(_re_constants, name)
)
_UNBOUNDED = _re_constants.MAXREPEAT
_SubPattern = _re_parser.SubPattern
#: ``re``'s flags and the ``regex`` flags that mean the same (their numbers differ).
_FLAGS = {
    re.IGNORECASE: regex.IGNORECASE,
    re.MULTILINE: regex.MULTILINE,
    re.DOTALL: regex.DOTALL,
    re.VERBOSE: regex.VERBOSE,
    re.ASCII: regex.ASCII,
    re.UNICODE: regex.UNICODE,
}
_KNOWN_FLAGS = sum(int(flag) for flag in _FLAGS)


class PatternError(ValueError):
    """A user's regex that is invalid, too big or too slow; the message says which."""


@dataclass(frozen=True)
class Budget:
    """The time one request's (or one call's) regex work may take, shared by its patterns."""

    seconds: float
    deadline: float

    @classmethod
    def start(cls, seconds: float | None = None) -> Budget:
        """A budget of ``seconds`` (default :data:`MATCH_SECONDS`) from now."""
        length = MATCH_SECONDS if seconds is None else seconds
        return cls(length, time.monotonic() + length)

    def remaining(self) -> float:
        """Seconds left; raises :class:`PatternError` when none are."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.exceeded()
        return left

    def exceeded(self) -> PatternError:
        return PatternError(
            f"regex matching took longer than {self.seconds:g} s (catastrophic backtracking?)"
        )


def _check_repeats(parsed: Any) -> None:
    """PatternError when a parsed pattern's counted repeats are too large.

    That is, one bound over :data:`MAX_REPEAT_BOUND`, or nested bounds whose product is
    over :data:`MAX_REPEAT_PRODUCT`. Iterative: a deeply nested pattern is no recursion.
    """
    stack: list[tuple[Any, int]] = [(parsed, 1)]
    while stack:
        node, outer = stack.pop()
        if isinstance(node, _SubPattern):
            for op, av in node:
                if op not in _REPEATS:
                    stack.append((av, outer))
                    continue
                low, high, inner = av
                bound = low if high == _UNBOUNDED else high
                if bound > MAX_REPEAT_BOUND:
                    raise PatternError(f"a counted repeat over {MAX_REPEAT_BOUND}")
                product = outer * max(bound, 1)
                if product > MAX_REPEAT_PRODUCT:
                    raise PatternError(f"nested counted repeats over {MAX_REPEAT_PRODUCT} in all")
                stack.append((inner, product))
        elif isinstance(node, list | tuple):
            stack.extend((item, outer) for item in node)


def check_pattern(pattern: str, flags: int = 0) -> None:
    """PatternError (with the reason) when ``pattern`` is too long, not ``re``'s syntax or
    too big; ``flags`` are ``re``'s."""
    if not isinstance(pattern, str):
        raise PatternError(f"a regex must be a string, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"regex longer than {MAX_PATTERN_LENGTH} characters")
    if flags & ~_KNOWN_FLAGS:
        raise PatternError(f"unsupported regex flags {re.RegexFlag(flags & ~_KNOWN_FLAGS)!r}")
    try:
        parsed = _re_parser.parse(pattern, flags)
    except (re.error, ValueError, OverflowError, RecursionError, MemoryError) as error:
        raise PatternError(str(error) or type(error).__name__) from None
    _check_repeats(parsed)


class BoundedPattern:
    """A checked, compiled regex whose every match spends from a :class:`Budget`."""

    def __init__(self, source: str, compiled: Any) -> None:
        self.source = source
        self._compiled = compiled

    def match(self, text: str, budget: Budget) -> bool:
        """Whether the pattern matches at the start of ``text`` (``re.match``)."""
        return self._run(self._compiled.match, text, budget)

    def search(self, text: str, budget: Budget) -> bool:
        """Whether the pattern matches anywhere in ``text`` (``re.search``)."""
        return self._run(self._compiled.search, text, budget)

    @staticmethod
    def _run(method: Any, text: str, budget: Budget) -> bool:
        remaining = budget.remaining()
        try:
            return method(text, timeout=remaining, concurrent=True) is not None
        except TimeoutError:
            raise budget.exceeded() from None
        except MemoryError:
            raise PatternError("regex matching ran out of memory") from None


def compile_pattern(pattern: str, flags: int = 0) -> BoundedPattern:
    """``pattern`` checked (:func:`check_pattern`) and compiled; PatternError when refused.

    ``flags`` are ``re``'s (``re.IGNORECASE`` ...), for callers that hold a ``re.Pattern``.
    """
    check_pattern(pattern, flags)
    native = regex.VERSION0
    for flag, same in _FLAGS.items():
        if flags & flag:
            native |= same
    try:
        compiled = regex.compile(pattern, flags=native, cache_pattern=False)
    except (regex.error, ValueError, OverflowError, RecursionError, MemoryError) as error:
        raise PatternError(str(error) or type(error).__name__) from None
    return BoundedPattern(pattern, compiled)


def filter_names(
    pattern: str | re.Pattern[str],
    names: Iterable[str],
    budget: Budget,
    *,
    anchored: bool,
) -> list[str]:
    """The names ``pattern`` matches, in order: at their start (``anchored``, as
    ``re.match``) or anywhere (``re.search``). A ``re.Pattern`` is compiled again here,
    from its source and flags. PatternError when refused or too slow."""
    budget.remaining()  # the budget is spent: compile nothing more
    if isinstance(pattern, re.Pattern):
        bounded = compile_pattern(pattern.pattern, int(pattern.flags))
    else:
        bounded = compile_pattern(pattern)
    test = bounded.match if anchored else bounded.search
    return [name for name in names if test(name, budget)]
