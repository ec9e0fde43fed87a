"""Send policies: who may send to whom, and how fast.

```python
policy = SendPolicy(
    rules=[
        SendRule.deny(sender="role:coder", to="role:coder"),   # coders never talk to each other
        SendRule.allow(sender="orchestrator"),                 # the orchestrator reaches everyone
        SendRule.deny(to="*"),                                 # nobody else may broadcast
    ],
    rate_limits=[RateLimit(sender="role:coder", rate=5.0, burst=10)],
)
system = ActorSystem(send_policy=policy)
```

**Rules** are checked in order for each recipient; the first that matches decides, and
``default_allow`` decides when none does. A pattern is None (anything), a name, ``"role:<r>"``
(an agent holding the role), or, for senders only, `OUTSIDE` (a caller outside the system).
Target patterns also take ``"*"`` / ``"*:<r>"``, which match broadcasts (to everyone / to a
role). A name or role target matches the recipient however it was addressed.

**Rate limits** are token buckets, one per sender: ``burst`` sends at once, then ``rate`` per
second. The first limit whose pattern matches the sender applies; one send (a broadcast too)
costs one token.

A refused send raises `PolicyViolation` at the sender and is dead-lettered (reason
``policy_denied`` or ``rate_limited``). A broadcast goes to the recipients it may reach; only
when it may reach none does it raise. With no policy configured, the router skips all of this
(one attribute check per send). Decisions are cached per (sender, recipient, broadcast).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors._deadletters import error_for
from actors.address import Broadcast, validate_name
from actors.errors import InvalidConfig
from actors.events import DeadLetterReason

if TYPE_CHECKING:
    from actors._runtime import Runtime
    from actors._slot import Slot
    from actors.envelope import Envelope

__all__ = ["OUTSIDE", "RateLimit", "SendPolicy", "SendRule"]

OUTSIDE = "<outside>"  # sender pattern for callers outside the system (no sending agent)
_EPSILON = 1e-9
_CACHE_LIMIT = 10_000


def _check_pattern(pattern: str | None, *, target: bool) -> None:
    if pattern is None or (not target and pattern == OUTSIDE):
        return
    if target and pattern in ("*",):
        return
    for prefix in ("role:", "*:") if target else ("role:",):
        if pattern.startswith(prefix):
            validate_name(pattern[len(prefix) :], "role")
            return
    validate_name(pattern)


def _sender_matches(pattern: str | None, sender: Slot | None) -> bool:
    if pattern is None:
        return True
    if sender is None:
        return pattern == OUTSIDE
    if pattern.startswith("role:"):
        return pattern[5:] in sender.roles
    return pattern == sender.name


@dataclass(frozen=True, slots=True)
class SendRule:
    """Allow (``allowed=True``) or deny sends from ``sender`` to ``to``.

    Build them with `SendRule.allow` and `SendRule.deny`.

    Raises:
        InvalidAddress: for a malformed pattern.
    """

    allowed: bool
    sender: str | None = None
    to: str | None = None

    def __post_init__(self) -> None:
        _check_pattern(self.sender, target=False)
        _check_pattern(self.to, target=True)

    @classmethod
    def allow(cls, sender: str | None = None, to: str | None = None) -> SendRule:
        """A rule letting senders matching ``sender`` reach targets matching ``to``."""
        return cls(True, sender, to)

    @classmethod
    def deny(cls, sender: str | None = None, to: str | None = None) -> SendRule:
        """A rule refusing sends from senders matching ``sender`` to targets matching ``to``."""
        return cls(False, sender, to)

    def matches(self, sender: Slot | None, recipient: Slot, broadcast: Broadcast | None) -> bool:
        """True if this rule is about this sender and recipient."""
        if not _sender_matches(self.sender, sender):
            return False
        to = self.to
        if to is None:
            return True
        if to == "*":
            return broadcast is not None
        if to.startswith("*:"):
            return broadcast is not None and broadcast.role == to[2:]
        if to.startswith("role:"):
            return to[5:] in recipient.roles
        return to == recipient.name


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``burst`` sends at once, refilled at ``rate`` per second, per matching sender."""

    rate: float
    burst: int
    sender: str | None = None

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            msg = f"rate limit rate must be > 0 and finite, got {self.rate!r}"
            raise InvalidConfig(msg)
        if isinstance(self.burst, bool) or not isinstance(self.burst, int) or self.burst < 1:
            msg = f"rate limit burst must be a positive int, got {self.burst!r}"
            raise InvalidConfig(msg)
        _check_pattern(self.sender, target=False)


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class SendPolicy:
    """Rules and rate limits for one system; see the module docstring.

    Args:
        rules: `SendRule`s, first match wins.
        default_allow: the decision when no rule matches.
        rate_limits: `RateLimit`s, first match (by sender) applies.
    """

    def __init__(
        self,
        rules: Iterable[SendRule] = (),
        *,
        default_allow: bool = True,
        rate_limits: Iterable[RateLimit] = (),
    ) -> None:
        self.rules = tuple(rules)
        self.default_allow = default_allow
        self.rate_limits = tuple(rate_limits)
        for item in self.rules:
            if not isinstance(item, SendRule):
                msg = f"SendPolicy rules must be SendRule instances, got {item!r}"
                raise InvalidConfig(msg)
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        # Decisions per (sender, recipient, broadcast): a slot's name and roles never change,
        # so an entry never goes stale (the cache is only bounded).
        self._cache: dict[tuple[Slot | None, Slot, Broadcast | None], bool] = {}

    def allows(self, sender: Slot | None, recipient: Slot, broadcast: Broadcast | None) -> bool:
        """The rules' decision for one sender and recipient (no rate limit involved)."""
        for rule in self.rules:
            if rule.matches(sender, recipient, broadcast):
                return rule.allowed
        return self.default_allow

    def check(
        self,
        envelope: Envelope,
        recipients: tuple[Slot, ...],
        sender: Slot | None,
        system: Runtime,
    ) -> tuple[Slot, ...]:
        """Return the recipients ``envelope`` may reach; raise if it may reach none.

        Raises:
            PolicyViolation: if the sender is rate-limited or denied every recipient (the
                envelope is dead-lettered first).
        """
        to = envelope.to
        broadcast = to if type(to) is Broadcast else None
        cache = self._cache
        if len(recipients) == 1:  # a direct or role send: no lists, one lookup
            decision = cache.get((sender, recipients[0], broadcast))
            if decision and not self.rate_limits:
                return recipients
        allowed: list[Slot] = []
        denied: list[Slot] = []
        for slot in recipients:
            key = (sender, slot, broadcast)
            decision = cache.get(key)
            if decision is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                decision = cache[key] = self.allows(sender, slot, broadcast)
            (allowed if decision else denied).append(slot)
        if denied and not allowed:
            names = ", ".join(repr(c.name) for c in denied)
            detail = f"{OUTSIDE if sender is None else sender.name} may not send to {names}"
            self._refuse(envelope, system, DeadLetterReason.POLICY_DENIED, detail)
        if self.rate_limits and not self._take_token(sender, system):
            self._refuse(envelope, system, DeadLetterReason.RATE_LIMITED, "rate limit exceeded")
        if not denied:
            return recipients
        for slot in denied:
            system.dead_letters.record(
                envelope, DeadLetterReason.POLICY_DENIED, f"not allowed to reach {slot.name!r}"
            )
        return tuple(allowed)

    def _take_token(self, sender: Slot | None, system: Runtime) -> bool:
        limit = next((r for r in self.rate_limits if _sender_matches(r.sender, sender)), None)
        if limit is None:
            return True
        key = OUTSIDE if sender is None else sender.name
        now = system.clock.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
            else:
                bucket.tokens = min(
                    float(limit.burst), bucket.tokens + (now - bucket.stamp) * limit.rate
                )
                bucket.stamp = now
            if bucket.tokens >= 1.0 - _EPSILON:  # float refills land a hair below whole tokens
                bucket.tokens = max(0.0, bucket.tokens - 1.0)
                return True
            return False

    @staticmethod
    def _refuse(envelope: Envelope, system: Runtime, reason: DeadLetterReason, detail: str) -> None:
        error = error_for(envelope, reason, detail)
        system.dead_letters.record(envelope, reason, detail, error)
        raise error
