"""Send policies: who may send to whom (by name, role, broadcast, from outside), and how fast."""

from __future__ import annotations

import pytest

from actors import (
    OUTSIDE,
    ActorSystem,
    DeadLetterReason,
    InvalidAddress,
    InvalidConfig,
    Message,
    PolicyViolation,
    RateLimit,
    SendPolicy,
    SendRule,
    handler,
)
from tests.messages import Note, Ping, Recorder


class Relay(Message):
    """Ask the agent to send a Note to ``to`` ``times`` times and report each outcome."""

    to: str
    times: int = 1


class Shout(Message):
    """Ask the agent to broadcast a Note (to ``role``'s holders, if given)."""

    role: str | None = None


class Talker(Recorder):
    """A Recorder that sends and broadcasts on request, reporting refusals instead of failing."""

    @handler
    def on_relay(self, msg: Relay) -> list:
        outcomes: list = []
        for _ in range(msg.times):
            try:
                outcomes.append(self.tell(msg.to, Note(text=self.name)))
            except PolicyViolation as exc:
                outcomes.append((exc.sender, exc.address, exc.reason))
        return outcomes

    @handler
    def on_shout(self, msg: Shout) -> object:
        try:
            return self.broadcast(Note(text=self.name), role=msg.role)
        except PolicyViolation as exc:
            return (exc.sender, exc.address, exc.reason)


def team(system, seen: list, *members: tuple[str, tuple[str, ...]]) -> None:
    for name, roles in members:
        system.spawn(Talker, seen, name=name, roles=roles)


def settle(system, *names: str) -> None:
    """Wait until every named agent handled what was sent to it so far."""
    for name in names:
        system.ask(name, Ping(n=0), timeout=5)


def received(seen: list) -> list[tuple[str, str]]:
    """(recipient, sender) of every Note handled."""
    return sorted((who, m.text) for who, m in seen if isinstance(m, Note))


def reasons(system) -> list[DeadLetterReason]:
    return [d.reason for d in system.dead_letters()]


# -- rules --------------------------------------------------------------------------------------


def test_a_denied_send_from_outside_raises_policy_violation_and_is_dead_lettered(system):
    seen: list = []
    system.send_policy = SendPolicy([SendRule.deny(sender=OUTSIDE, to="vault")])
    team(system, seen, ("vault", ()), ("desk", ()))

    with pytest.raises(PolicyViolation) as info:
        system.tell("vault", Note(text="outside"))
    assert (info.value.sender, info.value.address, info.value.reason) == (
        None,
        "vault",
        "policy_denied",
    )
    with pytest.raises(PolicyViolation):
        system.ref("vault").tell(Note(text="outside"))
    with pytest.raises(PolicyViolation):
        system.ask("vault", Ping(n=1), timeout=5)
    assert system.tell("desk", Note(text="outside")) == 1

    assert reasons(system) == [DeadLetterReason.POLICY_DENIED] * 3
    assert system.dead_letters()[0].envelope.body == Note(text="outside")
    settle(system, "desk")
    assert received(seen) == [("desk", "outside")]
    assert system.ref("vault").mailbox_size() == 0


def test_a_rule_by_name_applies_to_sends_from_inside_handlers(system):
    seen: list = []
    system.send_policy = SendPolicy([SendRule.deny(sender="alice", to="bob")])
    team(system, seen, ("alice", ()), ("bob", ()), ("carol", ()))

    assert system.ask("alice", Relay(to="bob"), timeout=5) == [("alice", "bob", "policy_denied")]
    assert system.ask("alice", Relay(to="carol"), timeout=5) == [1]
    assert system.ask("carol", Relay(to="bob"), timeout=5) == [1]
    assert system.tell("bob", Note(text="outside")) == 1

    settle(system, "bob", "carol")
    assert received(seen) == [("bob", "carol"), ("bob", "outside"), ("carol", "alice")]
    letters = system.dead_letters()
    assert [(d.reason, d.envelope.sender) for d in letters] == [
        (DeadLetterReason.POLICY_DENIED, "alice")
    ]


def test_a_rule_by_role_applies_however_the_recipient_is_addressed(system):
    seen: list = []
    system.send_policy = SendPolicy([SendRule.deny(sender="role:coder", to="role:coder")])
    team(system, seen, ("c1", ("coder",)), ("c2", ("coder",)), ("r1", ("reviewer",)))

    denied = ("c1", "c2", "policy_denied")
    assert system.ask("c1", Relay(to="c2"), timeout=5) == [denied]
    assert system.ask("c1", Relay(to="role:coder"), timeout=5) == [
        ("c1", "role:coder", "policy_denied")
    ]
    assert system.ask("c1", Relay(to="r1"), timeout=5) == [1]
    assert system.ask("r1", Relay(to="c2"), timeout=5) == [1]
    assert system.ask("r1", Relay(to="role:coder"), timeout=5) == [1]

    settle(system, "c1", "c2", "r1")
    notes = received(seen)
    assert [who for who, sender in notes if sender == "c1"] == ["r1"]
    from_reviewer = [who for who, sender in notes if sender == "r1"]
    assert len(from_reviewer) == 2
    assert set(from_reviewer) <= {"c1", "c2"}
    assert reasons(system) == [DeadLetterReason.POLICY_DENIED] * 2


def test_the_first_matching_rule_wins_and_default_allow_decides_the_rest(system):
    seen: list = []
    system.send_policy = SendPolicy(
        [
            SendRule.allow(sender=OUTSIDE),
            SendRule.allow(sender="boss"),
            SendRule.deny(sender="boss", to="worker"),  # never reached: the rule above matches
        ],
        default_allow=False,
    )
    team(system, seen, ("boss", ()), ("worker", ()))

    assert system.ask("boss", Relay(to="worker"), timeout=5) == [1]
    assert system.ask("worker", Relay(to="boss"), timeout=5) == [
        ("worker", "boss", "policy_denied")
    ]
    assert system.tell("worker", Note(text="outside")) == 1

    settle(system, "boss", "worker")
    assert received(seen) == [("worker", "boss"), ("worker", "outside")]


def test_a_broadcast_reaches_only_the_allowed_recipients(system):
    seen: list = []
    system.send_policy = SendPolicy([SendRule.deny(sender="hub", to="role:coder")])
    team(system, seen, ("hub", ()), ("c1", ("coder",)), ("c2", ("coder",)), ("r1", ("reviewer",)))

    assert system.ask("hub", Shout(), timeout=5) == 1

    settle(system, "c1", "c2", "r1")
    assert received(seen) == [("r1", "hub")]
    denied = [d for d in system.dead_letters() if d.reason is DeadLetterReason.POLICY_DENIED]
    assert sorted(d.detail for d in denied) == [
        "not allowed to reach 'c1'",
        "not allowed to reach 'c2'",
    ]


def test_a_broadcast_that_may_reach_nobody_raises(system):
    seen: list = []
    system.send_policy = SendPolicy([SendRule.deny(sender="hub", to="role:coder")])
    team(system, seen, ("hub", ()), ("c1", ("coder",)), ("c2", ("coder",)))

    assert system.ask("hub", Shout(role="coder"), timeout=5) == ("hub", "*:coder", "policy_denied")
    settle(system, "c1", "c2")
    assert received(seen) == []


def test_a_broadcast_rule_blocks_broadcasts_but_not_direct_sends(system):
    seen: list = []
    system.send_policy = SendPolicy([SendRule.deny(to="*")])
    team(system, seen, ("hub", ()), ("c1", ("coder",)))

    assert system.ask("hub", Shout(), timeout=5) == ("hub", "*", "policy_denied")
    with pytest.raises(PolicyViolation) as info:
        system.broadcast(Note(text="outside"))
    assert info.value.address == "*"
    assert system.ask("hub", Relay(to="c1"), timeout=5) == [1]
    assert system.tell("c1", Note(text="outside")) == 1

    settle(system, "c1")
    assert received(seen) == [("c1", "hub"), ("c1", "outside")]


def test_a_policy_set_on_the_system_applies_at_once_and_none_removes_it(system):
    system.spawn(Recorder, name="target")
    assert system.tell("target", Note()) == 1

    system.send_policy = SendPolicy([SendRule.deny(to="target")])
    with pytest.raises(PolicyViolation):
        system.tell("target", Note())

    system.send_policy = None
    assert system.tell("target", Note()) == 1


def test_a_policy_given_to_the_constructor_is_in_force_from_the_start():
    policy = SendPolicy([SendRule.deny(sender=OUTSIDE)])
    with ActorSystem("guarded", send_policy=policy) as system:
        assert system.send_policy is policy
        system.spawn(Recorder, name="target")
        with pytest.raises(PolicyViolation):
            system.tell("target", Note())


def test_malformed_rules_and_limits_are_refused():
    with pytest.raises(InvalidAddress):
        SendRule.deny(sender="Not A Name")
    with pytest.raises(InvalidAddress):
        SendRule.allow(to="role:")
    with pytest.raises(InvalidConfig):
        SendPolicy(rules=["deny everything"])  # type: ignore[list-item]
    with pytest.raises(InvalidConfig):
        RateLimit(rate=0, burst=1)
    with pytest.raises(InvalidConfig):
        RateLimit(rate=1.0, burst=0)


# -- rate limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [4.0, 6.0, 20.0, 100.0])
def test_a_rate_limit_admits_exactly_the_burst_then_the_rate(manual_system, clock, rate):
    system = manual_system
    system.send_policy = SendPolicy(rate_limits=[RateLimit(rate=rate, burst=3, sender=OUTSIDE)])
    system.spawn(Recorder, name="target")

    assert [system.tell("target", Note(text=str(i))) for i in range(3)] == [1, 1, 1]
    with pytest.raises(PolicyViolation) as info:
        system.tell("target", Note(text="too fast"))
    assert (info.value.sender, info.value.address, info.value.reason) == (
        None,
        "target",
        "rate_limited",
    )

    clock.advance(1 / rate)  # one more token
    assert system.tell("target", Note(text="refilled")) == 1
    with pytest.raises(PolicyViolation):
        system.tell("target", Note(text="too fast again"))

    assert reasons(system) == [DeadLetterReason.RATE_LIMITED] * 2
    assert system.dead_letters()[0].envelope.body == Note(text="too fast")


def test_a_rate_limit_refills_up_to_the_burst_and_no_further(manual_system, clock):
    system = manual_system
    system.send_policy = SendPolicy(rate_limits=[RateLimit(rate=4.0, burst=3, sender=OUTSIDE)])
    system.spawn(Recorder, name="target")
    assert [system.tell("target", Note()) for _ in range(3)] == [1, 1, 1]

    clock.advance(10.0)

    assert [system.tell("target", Note()) for _ in range(3)] == [1, 1, 1]
    with pytest.raises(PolicyViolation):
        system.tell("target", Note())


def test_rate_limits_are_counted_per_sender(manual_system):
    system = manual_system
    system.send_policy = SendPolicy(
        rate_limits=[RateLimit(rate=1.0, burst=2, sender="role:chatty")],
    )
    seen: list = []
    team(system, seen, ("a", ("chatty",)), ("b", ("chatty",)), ("quiet", ()), ("sink", ()))

    limited = ("a", "sink", "rate_limited")
    assert system.ask("a", Relay(to="sink", times=3), timeout=5) == [1, 1, limited]
    assert system.ask("b", Relay(to="sink", times=2), timeout=5) == [1, 1]
    assert system.ask("quiet", Relay(to="sink", times=10), timeout=5) == [1] * 10
    for _ in range(10):
        assert system.tell("sink", Note(text="outside")) == 1


def test_a_broadcast_costs_one_token(manual_system):
    system = manual_system
    system.send_policy = SendPolicy(rate_limits=[RateLimit(rate=1.0, burst=2, sender="hub")])
    seen: list = []
    team(system, seen, ("hub", ()), ("x", ()), ("y", ()), ("z", ()))

    assert system.ask("hub", Shout(), timeout=5) == 3
    assert system.ask("hub", Shout(), timeout=5) == 3
    assert system.ask("hub", Shout(), timeout=5) == ("hub", "*", "rate_limited")


def test_a_rate_limited_ask_raises_at_the_asker(manual_system):
    system = manual_system
    system.send_policy = SendPolicy(rate_limits=[RateLimit(rate=1.0, burst=1, sender=OUTSIDE)])
    system.spawn(Recorder, name="target")

    system.ask("target", Ping(n=1), timeout=5)
    with pytest.raises(PolicyViolation) as info:
        system.ask("target", Ping(n=2), timeout=5)
    assert info.value.reason == "rate_limited"
    assert reasons(system) == [DeadLetterReason.RATE_LIMITED]


def test_agents_not_matching_a_rate_limit_are_not_limited(manual_system):
    system = manual_system
    system.send_policy = SendPolicy(rate_limits=[RateLimit(rate=1.0, burst=1, sender="nobody")])
    seen: list = []
    team(system, seen, ("a", ()), ("sink", ()))

    assert system.ask("a", Relay(to="sink", times=20), timeout=5) == [1] * 20
    assert system.dead_letters() == []
