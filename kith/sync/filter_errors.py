"""The one error the filter model raises.

Spec: client-server-api "Filtering". A filter body that does not match the
`Filter` schema (definitions/sync_filter.yaml) is a client error. The HTTP layer
turns a `FilterError` into a 400 with `errcode`: `M_BAD_JSON` for an uploaded
filter body (POST /user/{userId}/filter) and `M_INVALID_PARAM` is available for
a bad `filter` query parameter on /sync, /messages or /context.
"""

from __future__ import annotations

BAD_JSON = "M_BAD_JSON"
INVALID_PARAM = "M_INVALID_PARAM"


class FilterError(ValueError):
    """A filter definition that is not a valid `Filter`.

    `message` is a human-readable reason naming the offending field, suitable
    for the `error` key of a standard error response.
    """

    def __init__(self, message: str, errcode: str = BAD_JSON) -> None:
        super().__init__(message)
        self.message = message
        self.errcode = errcode
