"""Matrix errors: the one exception type handlers raise, and its JSON form.

Spec: client-server-api/_index.md "Standard error response" and "Common error codes".
Every failure a client can cause is a `MatrixError`; the HTTP layer turns it into
`{"errcode", "error", ...}` in one place (kith.http.asgi). Anything else becomes
500 M_UNKNOWN with the details only in the log.
"""

from __future__ import annotations

from typing import Any


class MatrixError(Exception):
    def __init__(self, status: int, errcode: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.errcode = errcode
        self.message = message
        self.extra = extra

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errcode": self.errcode, "error": self.message}
        body.update(self.extra)
        return body


def bad_json(message: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", message)


def not_json(message: str = "Request body is not valid JSON") -> MatrixError:
    return MatrixError(400, "M_NOT_JSON", message)


def invalid_param(message: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", message)


def missing_param(message: str) -> MatrixError:
    return MatrixError(400, "M_MISSING_PARAM", message)


def forbidden(message: str = "Forbidden") -> MatrixError:
    return MatrixError(403, "M_FORBIDDEN", message)


def not_found(message: str = "Not found") -> MatrixError:
    return MatrixError(404, "M_NOT_FOUND", message)


def unrecognized(status: int = 404, message: str = "Unrecognized request") -> MatrixError:
    return MatrixError(status, "M_UNRECOGNIZED", message)


def missing_token() -> MatrixError:
    return MatrixError(401, "M_MISSING_TOKEN", "Missing access token")


def unknown_token(soft_logout: bool = False) -> MatrixError:
    return MatrixError(401, "M_UNKNOWN_TOKEN", "Unrecognised access token", soft_logout=soft_logout)


def too_large(message: str = "Request body too large") -> MatrixError:
    return MatrixError(413, "M_TOO_LARGE", message)


def limit_exceeded(retry_after_ms: int) -> MatrixError:
    return MatrixError(429, "M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=retry_after_ms)


def user_in_use() -> MatrixError:
    return MatrixError(400, "M_USER_IN_USE", "User ID already taken")


def invalid_username(message: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_USERNAME", message)


def unknown(message: str = "Internal server error") -> MatrixError:
    return MatrixError(500, "M_UNKNOWN", message)
