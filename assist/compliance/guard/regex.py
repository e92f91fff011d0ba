"""The engine that runs rule regexes: RE2, linear in the text, whatever the pattern.

Why RE2 and not Python's ``re``: compliance staff write regexes through the API. Python's backtracking engine
takes exponential time on patterns such as ``(?:a+)+b``, ``(a|aa)*c`` or ``(.*a){20}`` (26 characters of agent
speech took 4.6 s), and it has no time limit, so one saved rule could stall every live call. RE2 (the
``google-re2`` package) matches with automata: the time of a check is bounded by the length of the text times
the size of the compiled pattern, for every pattern. A static "nested quantifier" check on Python's ``re`` would
have to refuse the shipped pack's own ``(?: \\w+){0,2}`` and would still miss ``(a|aa)*c``; a per-check time
budget on ``re`` needs a thread it cannot stop. RE2 instead refuses up front what it cannot run in linear time
(backreferences, lookarounds), and the rest is safe by construction.

What RE2 does not have, and the rule pack does without:

- lookarounds ``(?=``, ``(?!``, ``(?<=``, ``(?<!``: write the unwanted continuation as an exception regex
  (clause-scoped, like every exception) instead;
- backreferences ``\\1``;
- ``\\Z`` (use ``$``; the text is one utterance or passage).

``\\b``, ``\\w``, ``\\d`` and ``\\s`` are ASCII-only in RE2. Rule regexes for Chinese are written with
explicit characters and classes such as ``[^,。!?;:]``, which RE2 matches on UTF-8 as ``re`` does on str.

The bound on a check: patterns are at most :data:`MAX_REGEX_CHARS` long, repetition counts at most 1000 (RE2's
own limit), each compiled program within :data:`MAX_PROGRAM_BYTES`, and texts are bounded by the callers
(``max_utterance_chars`` for turns, ``max_upload_mb`` for documents).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

MAX_REGEX_CHARS = 1000
# RE2's memory budget for one compiled pattern (the combined alternation of a whole pack included); the DFA
# cache lives within it and RE2 falls back to its NFA, still linear, when the cache fills.
MAX_PROGRAM_BYTES = 64 << 20

_OPTIONS: dict[bool, Any] = {}


def _options(*, capture: bool = True) -> Any:
    if capture not in _OPTIONS:
        import re2

        options = re2.Options()
        options.log_errors = False  # a refused pattern is reported to the caller, not printed on stderr
        options.max_mem = MAX_PROGRAM_BYTES
        # Without groups RE2 answers a search with its DFA alone; groups would need its slower NFA.
        options.never_capture = not capture
        _OPTIONS[capture] = options
    return _OPTIONS[capture]


class RegexRefused(ValueError):
    """A pattern the rule engine will not run; the message says why."""


def _message(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def compile_regex(pattern: str) -> Any:
    """Compile ``pattern`` on RE2.

    Raises:
        RegexRefused: Too long, or a construct RE2 does not run in linear time (lookaround, backreference),
            or a syntax error; the message names the construct.
    """
    import re2

    if len(pattern) > MAX_REGEX_CHARS:
        raise RegexRefused(f"is {len(pattern)} characters long; a rule regex may have at most {MAX_REGEX_CHARS}")
    try:
        return re2.compile(pattern, _options())
    except re2.error as exc:
        reason = _message(exc)
        hint = ""
        if any(op in pattern for op in ("(?=", "(?!", "(?<=", "(?<!")):
            hint = (
                "; lookarounds are not supported (rule regexes run on RE2, which is linear-time): "
                "write the unwanted continuation as an exception regex instead"
            )
        elif "backreference" in reason or "escape sequence" in reason:
            hint = "; backreferences are not supported (rule regexes run on RE2, which is linear-time)"
        raise RegexRefused(f"cannot be used: {reason}{hint}") from None


def compile_for_search(pattern: str) -> Any:
    """Compile a pattern (each part already accepted by :func:`compile_regex`) for searching: no groups.

    Raises:
        RegexRefused: The pattern exceeds RE2's memory budget (e.g. the alternation of a whole pack).
    """
    import re2

    try:
        return re2.compile(pattern, _options(capture=False))
    except re2.error as exc:
        raise RegexRefused(f"the rule regexes cannot be compiled together: {_message(exc)}") from None


def compile_set(patterns: list[str]) -> Any:
    """An RE2 set of the patterns: one pass tells which of them match (None when RE2 cannot build it)."""
    import re2

    regex_set = re2.Set.SearchSet(_options(capture=False))
    try:
        for p in patterns:
            regex_set.Add(p)
        regex_set.Compile()
    except re2.error:  # only an optimisation: without it every regex is tried
        logger.warning("the rule regexes do not fit one RE2 set; each is tried alone")
        return None
    return regex_set
