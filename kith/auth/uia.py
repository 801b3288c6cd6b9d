"""User-interactive authentication (spec: client-server-api "User-Interactive
Authentication API").

A session remembers which stages the client completed. A request that has not
completed a whole flow gets 401 with flows, params, session and completed; a
failed stage adds errcode/error to that body. Stage checks are supplied by the
caller as async functions returning True when the stage passes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kith.auth.tokens import new_session_id
from kith.errors import MatrixError, bad_json

StageCheck = Callable[[dict[str, Any]], Awaitable[bool]]

SESSION_LIFETIME_S = 15 * 60
MAX_SESSIONS = 10_000


@dataclass(slots=True)
class Session:
    created: float
    binding: str  # the endpoint (and user) the session was started for
    completed: list[str] = field(default_factory=list)


class UIAFailure(MatrixError):
    """The 401 of an unfinished flow: its body is the flow description itself."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.extra)


class UserInteractiveAuth:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def _expire(self) -> None:
        cutoff = time.monotonic() - SESSION_LIFETIME_S
        if len(self._sessions) > MAX_SESSIONS // 2:
            for key in [k for k, s in self._sessions.items() if s.created < cutoff]:
                del self._sessions[key]
        if len(self._sessions) >= MAX_SESSIONS:
            self._sessions.clear()

    async def authenticate(
        self,
        body: dict[str, Any],
        flows: list[list[str]],
        checks: dict[str, StageCheck],
        binding: str,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return the auth dict of the completing stage once a flow is complete;
        otherwise raise the 401 the spec describes."""
        self._expire()
        auth = body.get("auth")
        if auth is not None and not isinstance(auth, dict):
            raise bad_json("auth must be an object")
        session_id = auth.get("session") if auth else None
        session: Session | None = None
        if session_id is not None:
            if not isinstance(session_id, str):
                raise bad_json("auth.session must be a string")
            session = self._sessions.get(session_id)
            if session is None or session.binding != binding:
                raise MatrixError(400, "M_UNKNOWN", "Unknown or expired session")
        if session is None:
            # Existing clients may send a stage (e.g. m.login.dummy) without ever
            # having started a session; accept it as the session's first stage.
            session_id = new_session_id()
            session = Session(time.monotonic(), binding)
            self._sessions[session_id] = session
        assert session_id is not None

        failure: MatrixError | None = None
        if auth is not None and "type" in auth:
            stage = auth["type"]
            allowed = {s for flow in flows for s in flow}
            if not isinstance(stage, str) or stage not in allowed or stage not in checks:
                failure = MatrixError(400, "M_UNRECOGNIZED", "Unsupported authentication type")
            else:
                try:
                    passed = await checks[stage](auth)
                except MatrixError as err:
                    failure, passed = err, False
                if passed:
                    if stage not in session.completed:
                        session.completed.append(stage)
                elif failure is None:
                    failure = MatrixError(401, "M_FORBIDDEN", "Authentication failed")

        for flow in flows:
            if all(stage in session.completed for stage in flow):
                del self._sessions[session_id]
                return dict(auth or {})

        body_401: dict[str, Any] = {
            "flows": [{"stages": flow} for flow in flows],
            "params": params or {},
            "session": session_id,
        }
        if session.completed:
            body_401["completed"] = list(session.completed)
        if failure is not None:
            body_401["errcode"] = failure.errcode
            body_401["error"] = failure.message
        incomplete = UIAFailure(401, body_401.get("errcode", "M_FORBIDDEN"), body_401.get("error", ""))
        incomplete.extra = body_401
        raise incomplete
