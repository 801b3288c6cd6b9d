"""The one error type raised by the push-rule operations.

Spec: data/api/client-server/pushrules.yaml lists 400 and 404 responses with a
standard error body (`errcode`, `error`). The HTTP layer maps a `PushRuleError`
straight onto that body and status code.
"""

from __future__ import annotations


class PushRuleError(Exception):
    """A push-rule request that cannot be honoured.

    `http_status` and `errcode` are what the client-server API returns, e.g.
    404 `M_NOT_FOUND` for an unknown rule or 400 `M_UNKNOWN` for an unknown
    `before`/`after` anchor (the example response in pushrules.yaml).
    """

    def __init__(self, http_status: int, errcode: str, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.errcode = errcode
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The standard error body: `{"errcode": ..., "error": ...}`."""
        return {"errcode": self.errcode, "error": self.message}

    def __repr__(self) -> str:
        return f"PushRuleError({self.http_status}, {self.errcode!r}, {self.message!r})"


def not_found(message: str = "The push rule was not found.") -> PushRuleError:
    """404 `M_NOT_FOUND`, as pushrules.yaml shows for a missing rule."""
    return PushRuleError(404, "M_NOT_FOUND", message)


def invalid_param(message: str) -> PushRuleError:
    """400 `M_INVALID_PARAM`: a parameter had an unacceptable value."""
    return PushRuleError(400, "M_INVALID_PARAM", message)


def missing_param(message: str) -> PushRuleError:
    """400 `M_MISSING_PARAM`: a required parameter was absent."""
    return PushRuleError(400, "M_MISSING_PARAM", message)


def unknown_anchor(rule_id: str) -> PushRuleError:
    """400 `M_UNKNOWN` for a `before`/`after` rule that does not exist.

    pushrules.yaml gives exactly this errcode in its PUT 400 example.
    """
    return PushRuleError(400, "M_UNKNOWN", f"before/after rule not found: {rule_id}")
