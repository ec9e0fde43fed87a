"""Role routing strategies: which holder of a role gets a message sent to ``role:<r>``.

```python
system.set_routing("coder", Routing.LEAST_BUSY)
system.set_routing("chat", Routing.consistent_hash(lambda m: m.conversation))
```

- `Routing.ROUND_ROBIN` (the default): the holders in turn, across all senders.
- `Routing.LEAST_BUSY`: an idle holder with nothing queued first; otherwise the one with the
  least work (queued messages, plus one if it is handling a message); ties are broken in
  turn, so equal holders share the work evenly.
- `Routing.consistent_hash(key)`: ``key(message)`` (a ``str``) picks the holder on a hash
  ring (64 points per holder, placed by a BLAKE2b hash of its name: the same in every
  process). The same key reaches the same live holder while the holders stay the same, so a
  conversation sticks to one agent; a holder joining or leaving moves only about 1/n of
  the keys.

Under every strategy, a holder that is between incarnations (restarting or backing off,
failed and awaiting its supervisor, starting, or stopped until a restart) is passed over
while another holder is running; when none is, the message goes to one that is alive anyway
(under consistent hashing: the key's own holder) and waits in its mailbox for the restart,
as it would for a direct send. An ask is never routed to the asking agent while another
holder exists.

Strategies are read in the sending thread, without a lock, from the state each slot
publishes (its state, whether it is handling a message, its queue length): a pick is a
best guess at the instant of the send, never a reservation.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from actors._lifecycle import SlotState
from actors.errors import InvalidConfig

if TYPE_CHECKING:
    from actors._slot import Slot
    from actors.messages import Message

__all__ = [
    "ConsistentHash",
    "LeastBusy",
    "RoundRobin",
    "Routing",
    "RoutingStrategy",
    "round_robin",
]

_RUNNING = SlotState.RUNNING  # the only state in which a holder takes messages now
_CLOSED = SlotState.CLOSED  # gone for good: never a recipient
_RINGS_KEPT = 16  # hash rings one ConsistentHash caches (one per role and membership)


class RoutingStrategy:
    """How a role picks one of its holders; see the module docstring for the three kinds.

    Strategies are small immutable values (a `ConsistentHash` also caches its rings); one
    may serve several roles. Build them through `Routing`.
    """

    __slots__ = ()

    def pick(
        self, members: Sequence[Slot], turn: int, avoid: Slot | None, message: Message
    ) -> Slot | None:
        """Choose the recipient among ``members`` (runs in the sender's thread).

        Args:
            members: the role's holders in registration order; closed ones included (they
                must be skipped).
            turn: a number that grows by one with each send to the role (for rotation).
            avoid: the asking agent, to pick only if no other holder is alive.
            message: the message being sent.

        Returns:
            The chosen slot, or None if no holder is alive.
        """
        raise NotImplementedError


def round_robin(members: Sequence[Slot], turn: int, avoid: Slot | None) -> Slot | None:
    """The first running holder from position ``turn`` on, else any live one (see `pick`).

    Preference: running and not ``avoid``; then alive (between incarnations) and not
    ``avoid``; then ``avoid`` itself.
    """
    count = len(members)
    spare = None
    for step in range(count):
        slot = members[(turn + step) % count]
        state = slot.state
        if state is _RUNNING and slot is not avoid:
            return slot
        if state is not _CLOSED and (spare is None or spare is avoid):
            spare = slot
    return spare


class RoundRobin(RoutingStrategy):
    """The holders in turn, across all senders (`Routing.ROUND_ROBIN`, the default)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Routing.ROUND_ROBIN"

    def pick(
        self, members: Sequence[Slot], turn: int, avoid: Slot | None, message: Message
    ) -> Slot | None:
        """The next running holder in turn (see `RoutingStrategy.pick`)."""
        return round_robin(members, turn, avoid)


class LeastBusy(RoutingStrategy):
    """The holder with the least work: idle first, then the shortest queue (`Routing.LEAST_BUSY`).

    A holder's load is its queued messages plus one while it handles a message (or blocks in
    an ask inside one). The first holder of load 0 met from the rotating start is taken at
    once; otherwise the first of the smallest load.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "Routing.LEAST_BUSY"

    def pick(
        self, members: Sequence[Slot], turn: int, avoid: Slot | None, message: Message
    ) -> Slot | None:
        """The least loaded running holder (see `RoutingStrategy.pick`)."""
        count = len(members)
        best = spare = None
        least = 1 << 62
        for step in range(count):
            slot = members[(turn + step) % count]
            state = slot.state
            if state is _RUNNING and slot is not avoid:
                load = slot.mailbox.qsize() + (slot.current is not None)
                if not load:
                    return slot
                if load < least:
                    best, least = slot, load
            elif state is not _CLOSED and (spare is None or spare is avoid):
                spare = slot
        return best if best is not None else spare


class _Ring:
    """A hash ring of one membership: sorted points and the holder owning each."""

    __slots__ = ("length", "members", "owners", "points")

    def __init__(self, members: Sequence[Slot], replicas: int) -> None:
        self.members = members  # kept: its identity and length say whether the ring is current
        self.length = len(members)
        placed = sorted(
            (_point(f"{slot.name}#{i}"), n, slot)
            for n, slot in enumerate(members)
            if slot.state is not _CLOSED
            for i in range(replicas)
        )
        self.points = [point for point, _, _ in placed]
        self.owners = [slot for _, _, slot in placed]


def _point(text: str) -> int:
    """A position on the ring: stable across processes (unlike the salted ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class ConsistentHash(RoutingStrategy):
    """The holder that owns ``key(message)`` on a hash ring (`Routing.consistent_hash`).

    Args:
        key: maps a message to its routing key, a ``str`` (e.g. a conversation id). It runs
            in the sender's thread on every send to the role.
        replicas: points per holder on the ring (more: a more even spread).

    A message whose key's owner is not running goes to the next running holder clockwise
    (so the detour is the same for every message of that key), or, if none is running, to
    the owner itself, where it waits for the restart.

    Raises:
        InvalidConfig: if ``key`` is not callable or ``replicas`` is not a positive int.
    """

    __slots__ = ("_rings", "key", "replicas")

    def __init__(self, key: Callable[[Message], str], replicas: int = 64) -> None:
        if not callable(key):
            msg = f"consistent_hash takes a callable key(message) -> str, got {key!r}"
            raise InvalidConfig(msg)
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            msg = f"replicas must be a positive int, got {replicas!r}"
            raise InvalidConfig(msg)
        self.key = key
        self.replicas = replicas
        # By the identity of a role's holder array: a role's ring is rebuilt when a holder
        # joins (the array grows) or the array is compacted (a new array).
        self._rings: dict[int, _Ring] = {}

    def __repr__(self) -> str:
        name = getattr(self.key, "__qualname__", repr(self.key))
        return f"Routing.consistent_hash({name})"

    def pick(
        self, members: Sequence[Slot], turn: int, avoid: Slot | None, message: Message
    ) -> Slot | None:
        """The running holder that owns the message's key (see `RoutingStrategy.pick`).

        Raises:
            InvalidConfig: if ``key`` returned something other than a ``str``.
            Exception: whatever ``key`` raised (in the sender's thread).
        """
        key = self.key(message)
        if type(key) is not str:
            msg = f"the consistent_hash key must return a str, got {key!r:.80} for {message!r:.80}"
            raise InvalidConfig(msg)
        ring = self._ring(members)
        owners = ring.owners
        count = len(owners)
        start = bisect.bisect(ring.points, _point(key))
        spare = None
        for step in range(count):
            slot = owners[(start + step) % count]
            state = slot.state
            if state is _RUNNING and slot is not avoid:
                return slot
            if state is not _CLOSED and (spare is None or spare is avoid):
                spare = slot
        return spare

    def _ring(self, members: Sequence[Slot]) -> _Ring:
        rings = self._rings
        ring = rings.get(id(members))
        if ring is None or ring.members is not members or ring.length != len(members):
            ring = _Ring(members, self.replicas)
            if len(rings) >= _RINGS_KEPT:
                rings.clear()  # arrays replaced by compaction: old rings are never read again
            rings[id(members)] = ring
        return ring


class Routing:
    """The routing strategies, for `ActorSystem.set_routing` and pools.

    Attributes:
        ROUND_ROBIN: the holders in turn (the default).
        LEAST_BUSY: an idle holder first, otherwise the least loaded; ties in turn.
    """

    ROUND_ROBIN: ClassVar[RoundRobin] = RoundRobin()
    LEAST_BUSY: ClassVar[LeastBusy] = LeastBusy()

    @staticmethod
    def consistent_hash(key: Callable[[Message], str], *, replicas: int = 64) -> ConsistentHash:
        """A strategy sending every message with the same ``key(message)`` to the same holder.

        Args:
            key: maps a message to its routing key, a ``str``; runs in the sender's thread.
            replicas: points per holder on the hash ring.

        Raises:
            InvalidConfig: if ``key`` is not callable or ``replicas`` is not a positive int.
        """
        return ConsistentHash(key, replicas)
