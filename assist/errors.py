"""Domain errors. Each carries the offending value; api.py maps them to HTTP in one place."""

from __future__ import annotations

import math


class AssistError(Exception):
    """Base class of every error the product reports to a user."""

    status_code = 400


class NotFoundError(AssistError):
    """An id that does not exist (document, call, rule, event, suggestion)."""

    status_code = 404

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident!r} not found")
        self.kind, self.ident = kind, ident


class InvalidInputError(AssistError):
    """A value that is well-formed JSON but makes no sense (empty text, bad speaker, ...)."""

    status_code = 422


class InvalidMessageError(InvalidInputError):
    """A WebSocket message that is not JSON, not an object, of an unknown `type`, or with bad fields.

    On a call's socket it becomes an `error` message and the socket stays open. `message_type` is the
    message's `type` when that was known (its fields were the problem), else None.
    """

    def __init__(self, detail: str, *, message_type: str | None = None) -> None:
        super().__init__(detail)
        self.message_type = message_type


class LoadError(AssistError):
    """A file that cannot be loaded: empty, corrupt, binary or of an unsupported type."""

    status_code = 422

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source, self.reason = source, reason


class UnsupportedTypeError(LoadError):
    """A file whose type no loader handles."""

    status_code = 415


class LimitExceededError(LoadError):
    """A document over an ingest limit (decompressed size, pages, text, chunks, parse time or memory).

    The reason names the limit and its setting, e.g. "... over the limit of 500 pages (ASSIST_MAX_PDF_PAGES)".
    Nothing of the document is stored.
    """

    status_code = 413

    def __init__(self, source: str, reason: str, *, limit: str) -> None:
        super().__init__(source, reason)
        self.limit = limit


class TooLargeError(AssistError):
    """An upload over the configured size limit."""

    status_code = 413


class RulePackError(AssistError):
    """A rule pack that fails validation; the message names the rule."""

    status_code = 422


class ConflictError(AssistError):
    """A request that conflicts with the current state (e.g. a call that has ended)."""

    status_code = 409


class AuthError(AssistError):
    """A missing, unknown or revoked API key."""

    status_code = 401


class ForbiddenError(AssistError):
    """A key whose role may not do this."""

    status_code = 403


class RateLimitedError(AssistError):
    """Too many requests (failed authentications, requests, calls started) for a client or key."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def retry_after_header(self) -> str:
        """Whole seconds, at least 1 (the Retry-After header takes an integer)."""
        return str(max(1, math.ceil(self.retry_after)))


class GuardUnavailableError(AssistError):
    """The compliance guard has no rules in force or could not load them: nothing may pass unchecked."""

    status_code = 503


class TemplateError(AssistError):
    """A ticket template or QA rubric file that fails validation; the message names the file and the value."""

    status_code = 422


class MissingFieldsError(AssistError):
    """A ticket submitted without its required fields; the message names them."""

    status_code = 422

    def __init__(self, template: str, missing: list[str]) -> None:
        super().__init__(f"ticket {template!r} is missing required fields: {', '.join(missing)}")
        self.template, self.missing = template, missing


class NotEndedError(AssistError):
    """A call that has not ended yet, for what only an ended call has (its scorecard)."""

    status_code = 409


class ClaimModelError(AssistError):
    """The guard's claim model cannot be used; the deterministic layers keep checking without it."""

    status_code = 503


class ModelFileMissing(ClaimModelError):
    """No claim model file at the configured path."""


class ModelFileCorrupt(ClaimModelError):
    """The file is not a claim model, is truncated, or its arrays do not match their recorded hashes."""


class EncoderMismatch(ClaimModelError):
    """The model file was trained on another encoder's vectors (id or dimension differ)."""
