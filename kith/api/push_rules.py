"""Push rules: pushrules.yaml, on the pure rule-set operations in kith.push."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from kith.errors import MatrixError
from kith.http.types import Request, Route
from kith.push import ruleset
from kith.push.errors import PushRuleError
from kith.store.push_rules import PushRuleStore
from kith.sync.notifier import Notifier

JsonDict = dict[str, Any]
_CACHE_USERS = 4096


def _matrix_error(err: PushRuleError) -> MatrixError:
    return MatrixError(err.http_status, err.errcode, err.message)


class PushRulesService:
    """The user's effective rules (cached) and the changes pushrules.yaml allows."""

    def __init__(self, store: PushRuleStore, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier
        self._effective: OrderedDict[str, JsonDict] = OrderedDict()

    async def stored(self, user_id: str) -> JsonDict:
        return await self._store.get(user_id)

    async def effective(self, user_id: str) -> JsonDict:
        """The `global` ruleset (push_ruleset.yaml) evaluation should use."""
        cached = self._effective.get(user_id)
        if cached is not None:
            self._effective.move_to_end(user_id)
            return cached
        result = ruleset.effective_ruleset(user_id, await self._store.get(user_id))
        self._remember(user_id, result)
        return result

    async def account_data_event(self, user_id: str) -> JsonDict:
        """The `m.push_rules` account data event for the user's current rules."""
        return {"type": "m.push_rules", "content": {"global": await self.effective(user_id)}}

    def _remember(self, user_id: str, effective: JsonDict) -> None:
        self._effective[user_id] = effective
        self._effective.move_to_end(user_id)
        while len(self._effective) > _CACHE_USERS:
            self._effective.popitem(last=False)

    async def change(self, user_id: str, op: Callable[[JsonDict], JsonDict]) -> None:
        """Apply a kith.push.ruleset operation; PushRuleError becomes MatrixError."""
        computed: dict[str, JsonDict] = {}

        def account_data(stored: JsonDict) -> JsonDict:
            computed["global"] = ruleset.effective_ruleset(user_id, stored)
            return {"global": computed["global"]}

        try:
            await self._store.update(user_id, op, account_data)
        except PushRuleError as err:
            raise _matrix_error(err) from None
        self._remember(user_id, computed["global"])
        self._notifier.wake([user_id])


def routes(service: PushRulesService) -> list[Route]:
    def where(request: Request) -> tuple[str, str]:
        return request.path_params["kind"], request.path_params["ruleId"]

    async def read(request: Request, fn: Callable[[JsonDict], Any]) -> Any:
        try:
            return fn(await service.stored(request.user.user_id))
        except PushRuleError as err:
            raise _matrix_error(err) from None

    async def get_all(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/pushrules/"""
        return {"global": await service.effective(request.user.user_id)}

    async def get_global(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/pushrules/global/"""
        return await service.effective(request.user.user_id)

    async def get_rule(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
        kind, rule_id = where(request)
        user_id = request.user.user_id
        rule: JsonDict = await read(request, lambda s: ruleset.get_rule(user_id, s, kind, rule_id))
        return rule

    async def put_rule(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
        kind, rule_id = where(request)
        body = request.json_object()
        before, after = request.arg("before"), request.arg("after")
        await service.change(request.user.user_id, lambda s: ruleset.put_rule(
            s, kind, rule_id, body, before=before, after=after))
        return {}

    async def delete_rule(request: Request) -> dict[str, Any]:
        """DELETE /_matrix/client/v3/pushrules/global/{kind}/{ruleId}"""
        kind, rule_id = where(request)
        await service.change(request.user.user_id,
                             lambda s: ruleset.delete_rule(s, kind, rule_id))
        return {}

    async def get_enabled(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
        kind, rule_id = where(request)
        return {"enabled": await read(request, lambda s: ruleset.get_enabled(s, kind, rule_id))}

    async def put_enabled(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/enabled"""
        kind, rule_id = where(request)
        body = request.json_object()
        if "enabled" not in body:
            raise MatrixError(400, "M_MISSING_PARAM", "Missing enabled")
        await service.change(request.user.user_id, lambda s: ruleset.set_enabled(
            s, kind, rule_id, body["enabled"]))
        return {}

    async def get_actions(request: Request) -> dict[str, Any]:
        """GET /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
        kind, rule_id = where(request)
        return {"actions": await read(request, lambda s: ruleset.get_actions(s, kind, rule_id))}

    async def put_actions(request: Request) -> dict[str, Any]:
        """PUT /_matrix/client/v3/pushrules/global/{kind}/{ruleId}/actions"""
        kind, rule_id = where(request)
        body = request.json_object()
        if "actions" not in body:
            raise MatrixError(400, "M_MISSING_PARAM", "Missing actions")
        await service.change(request.user.user_id, lambda s: ruleset.set_actions(
            s, kind, rule_id, body["actions"]))
        return {}

    base = "/_matrix/client/v3/pushrules"
    rule = base + "/global/{kind}/{ruleId}"
    return [
        Route("GET", base + "/", get_all),
        Route("GET", base + "/global/", get_global),
        Route("GET", rule, get_rule),
        Route("PUT", rule, put_rule),
        Route("DELETE", rule, delete_rule),
        Route("GET", rule + "/enabled", get_enabled),
        Route("PUT", rule + "/enabled", put_enabled),
        Route("GET", rule + "/actions", get_actions),
        Route("PUT", rule + "/actions", put_actions),
    ]
