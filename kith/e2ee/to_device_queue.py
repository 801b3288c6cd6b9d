"""How a device's to-device queue stays bounded.

Spec (send_to_device.md "Server behaviour"): the server stores pending
messages for a device until it has received them, and hands them out in
order. The spec sets no bound; Kith's (documented in README.md) keeps one
device's queue from growing without limit and keeps any one sender from
pushing out everyone else's messages (Olm sessions, room keys):

* per sender: at most `per_sender` messages from one user wait for a device;
  beyond that, that sender's own oldest messages are dropped;
* in all: at most `total` messages wait for a device; beyond that, the oldest
  messages of the sender with the most waiting are dropped (on a tie, the
  sender whose request overflowed the queue pays).

So a sender loses messages only while it has more waiting than the per-sender
limit, or at least as many as every other sender: a flood costs the flooder
first, and one account's flood delays the others' messages by at most
`per_sender` entries.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_TOTAL = 10_000
DEFAULT_PER_SENDER = 1_000


@dataclass(frozen=True, slots=True)
class QueueLimits:
    total: int = DEFAULT_TOTAL
    per_sender: int = DEFAULT_PER_SENDER

    def __post_init__(self) -> None:
        if self.total < 1 or self.per_sender < 1:
            raise ValueError("to-device queue limits must be at least 1")


def evictions(queued: Mapping[str, int], sender: str, limits: QueueLimits) -> dict[str, int]:
    """How many of each sender's oldest messages to drop from one device's
    queue, given how many each sender has queued (new messages included) and
    the sender of the request that just added some."""
    counts = {who: n for who, n in queued.items() if n > 0}
    drop: dict[str, int] = {}
    for who, n in counts.items():
        if n > limits.per_sender:
            drop[who] = n - limits.per_sender
            counts[who] = limits.per_sender
    excess = sum(counts.values()) - limits.total
    if excess > 0:
        # Largest queue first; the requesting sender before others of the same
        # size, then by user ID so the choice does not depend on input order.
        heap = [(-n, who != sender, who) for who, n in counts.items()]
        heapq.heapify(heap)
        for _ in range(excess):
            negative, not_sender, who = heapq.heappop(heap)
            drop[who] = drop.get(who, 0) + 1
            heapq.heappush(heap, (negative + 1, not_sender, who))
    return drop
