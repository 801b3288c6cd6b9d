"""Shared names for the push-rule modules.

Spec: client-server-api/modules/push.md, "Push Rules": the rule kinds in the
order they are checked are override, content, room, sender, underride.
"""

from __future__ import annotations

from typing import Any, Final

# A JSON object as decoded from a request body, an event or storage.
JsonDict = dict[str, Any]

# push.md: "The different kinds of rule, in the order that they are checked".
RULE_KINDS: Final[tuple[str, ...]] = ("override", "content", "room", "sender", "underride")

# push.md, "Predefined Rules": `.m.rule.master` always has a higher priority
# than any other rule, user-defined ones included.
MASTER_RULE_ID: Final = ".m.rule.master"
