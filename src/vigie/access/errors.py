"""Refusals of the access layer, each with a stable code that API clients and the UI translate."""

from __future__ import annotations


class AccessRefusal(Exception):
    """A request refused by authentication or the policy.

    ``status`` is the HTTP status the web layer answers with; ``code`` is stable (scripts and the
    message catalogue rely on it); ``message`` is one clear English sentence.
    """

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class UserError(ValueError):
    """An account operation cannot be done (unknown user, duplicate name, weak password…)."""
