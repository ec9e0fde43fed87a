"""Direct, role and broadcast addressing, role routing strategies, and dead letters."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    Broadcast,
    DeadLetter,
    DeadLetterReason,
    InvalidAddress,
    InvalidConfig,
    InvalidMessage,
    LifecycleChanged,
    RegimentError,
    Role,
    Routing,
    handler,
)
from actors._lifecycle import SlotState
from actors.routing import LeastBusy, RoundRobin, _point
from supervision import Backoff, ChildSpec, RestartPolicy, SupervisorSpec
from tests.helpers import WAIT, advance_and_settle, dead_letter_count, park, record_events
from tests.messages import Blocker, Boom, Note, Ping, Pong, Recorder


def drain(system: ActorSystem, *names: str) -> None:
    """Wait until each named agent has handled everything sent to it before (an ask behind it)."""
    for name in names:
        system.ask(name, Ping(n=-1), timeout=5)


def test_a_name_reaches_exactly_that_agent(system):
    seen: list = []
    system.spawn(Recorder, seen, name="a")
    system.spawn(Recorder, seen, name="b")
    assert system.tell("b", Note(text="hi")) == 1
    drain(system, "a", "b")
    assert [(who, m) for who, m in seen if isinstance(m, Note)] == [("b", Note(text="hi"))]


def test_role_addressing_delivers_to_exactly_one_holder(system):
    seen: list = []
    for i in range(3):
        system.spawn(Recorder, seen, name=f"coder-{i}", roles=("coder",))
    system.spawn(Recorder, seen, name="reviewer", roles=("reviewer",))
    for _ in range(5):
        assert system.tell("role:coder", Note(text="task")) == 1
    drain(system, "coder-0", "coder-1", "coder-2", "reviewer")
    notes = [who for who, m in seen if isinstance(m, Note)]
    assert len(notes) == 5
    assert set(notes) <= {"coder-0", "coder-1", "coder-2"}


def test_role_round_robin_spreads_evenly(system):
    seen: list = []
    for i in range(4):
        system.spawn(Recorder, seen, name=f"w-{i}", roles=("worker",))
    for _ in range(400):
        system.tell(Role("worker"), Note())
    drain(system, *(f"w-{i}" for i in range(4)))
    counts = Counter(who for who, m in seen if isinstance(m, Note))
    assert counts == {"w-0": 100, "w-1": 100, "w-2": 100, "w-3": 100}


def test_role_asks_rotate_too(system):
    for i in range(3):
        system.spawn(Recorder, name=f"w-{i}", roles=("worker",))
    replies = [system.ask("role:worker", Ping(n=i), timeout=5).by for i in range(6)]
    assert Counter(replies) == {"w-0": 2, "w-1": 2, "w-2": 2}


class Announcer(AgentActor):
    """Broadcasts a Note when pinged; records Notes it receives."""

    received: list[str] = []

    @handler
    def on_ping(self, msg: Ping) -> int:
        if msg.n == 1:
            return self.broadcast(Note(text=self.name))
        if msg.n == 2:
            return self.broadcast(Note(text=self.name), include_self=True)
        if msg.n == 3:
            return self.broadcast(Note(text=self.name), role="coder")
        return 0

    @handler
    def on_note(self, msg: Note) -> None:
        Announcer.received.append(self.name)


@pytest.fixture
def announcers(system):
    Announcer.received = []
    system.spawn(Announcer, name="lead", roles=("lead",))
    system.spawn(Announcer, name="c1", roles=("coder",))
    system.spawn(Announcer, name="c2", roles=("coder",))
    system.spawn(Announcer, name="r1", roles=("reviewer",))
    return system


def _settle(system):
    for name in ("lead", "c1", "c2", "r1"):
        system.ask(name, Ping(n=0), timeout=5)


def test_broadcast_reaches_every_agent_except_the_sender(announcers):
    assert announcers.ask("lead", Ping(n=1), timeout=5) == 3
    _settle(announcers)
    assert sorted(Announcer.received) == ["c1", "c2", "r1"]


def test_broadcast_with_include_self_reaches_the_sender_too(announcers):
    assert announcers.ask("lead", Ping(n=2), timeout=5) == 4
    _settle(announcers)
    assert sorted(Announcer.received) == ["c1", "c2", "lead", "r1"]


def test_broadcast_to_a_role_reaches_only_its_holders_but_not_the_sender(announcers):
    assert announcers.ask("c1", Ping(n=3), timeout=5) == 1
    _settle(announcers)
    assert Announcer.received == ["c2"]


def test_broadcast_from_outside_reaches_everyone(announcers):
    assert announcers.broadcast(Note()) == 4
    assert announcers.tell("*:coder", Note()) == 2
    assert announcers.tell(Broadcast(role="reviewer"), Note()) == 1
    _settle(announcers)
    assert Counter(Announcer.received) == {"lead": 1, "c1": 2, "c2": 2, "r1": 2}


def test_an_unknown_name_is_dead_lettered_with_its_reason(system):
    letters = record_events(system, DeadLetter)
    assert system.tell("ghost", Note(text="x")) == 0
    assert [(d.reason, str(d.envelope.to)) for d in letters.items()] == [
        (DeadLetterReason.UNKNOWN_ADDRESS, "ghost")
    ]
    assert system.dead_letters()[-1].reason is DeadLetterReason.UNKNOWN_ADDRESS
    assert dead_letter_count(system, DeadLetterReason.UNKNOWN_ADDRESS) == 1


def test_a_role_nobody_holds_is_dead_lettered_as_no_role_member(system):
    system.spawn(Recorder, name="a", roles=("coder",))
    assert system.tell("role:designer", Note()) == 0
    assert system.tell("*:designer", Note()) == 0
    reasons = [d.reason for d in system.dead_letters()]
    assert reasons == [DeadLetterReason.NO_ROLE_MEMBER, DeadLetterReason.NO_ROLE_MEMBER]


def test_a_malformed_address_raises_at_the_call_site(system):
    with pytest.raises(InvalidAddress):
        system.tell("Not A Name", Note())
    with pytest.raises(InvalidAddress):
        system.tell("role:", Note())
    assert system.dead_letters() == []


def test_a_body_that_is_not_a_message_is_refused(system):
    system.spawn(Recorder, name="a")
    with pytest.raises(InvalidMessage):
        system.tell("a", "just a string")  # type: ignore[arg-type]
    with pytest.raises(InvalidMessage):
        system.ask("a", {"n": 1}, timeout=1)  # type: ignore[arg-type]


def test_a_stopped_agent_is_unregistered(system):
    ref = system.spawn(Recorder, name="a", roles=("coder",))
    assert ref.stop(timeout=5)
    assert not ref.is_alive()
    assert [r.name for r in system.agents()] == []
    assert system.tell("a", Note()) == 0
    assert system.tell("role:coder", Note()) == 0
    reasons = [d.reason for d in system.dead_letters()]
    assert reasons == [DeadLetterReason.UNKNOWN_ADDRESS, DeadLetterReason.NO_ROLE_MEMBER]


def test_agents_lists_live_agents_in_spawn_order(system):
    for name in ("x", "y", "z"):
        system.spawn(Recorder, name=name)
    assert [r.name for r in system.agents()] == ["x", "y", "z"]
    assert system.ref("y").name == "y"


def test_messages_to_one_agent_arrive_in_send_order(system):
    seen: list = []
    system.spawn(Recorder, seen, name="a")
    for i in range(1000):
        system.tell("a", Ping(n=i))
    drain(system, "a")
    assert [m.n for _, m in seen][:1000] == list(range(1000))


def test_pong_reply_type_is_returned_by_ask(system):
    system.spawn(Recorder, name="a")
    assert system.ask("a", Ping(n=5), timeout=5) == Pong(n=5, by="a")


# -- routing strategies: the pure choice, on stand-in slots ---------------------------------------


@dataclass
class Queue:
    size: int = 0

    def qsize(self) -> int:
        return self.size


@dataclass(eq=False)
class Member:
    """A stand-in for a slot: what a strategy reads of one."""

    name: str
    state: SlotState = SlotState.RUNNING
    current: object = None
    mailbox: Queue = field(default_factory=Queue)


def members(count: int) -> list[Member]:
    return [Member(f"m-{i}") for i in range(count)]


def pick(strategy, items, turn=0, avoid=None, message=None):
    return strategy.pick(items, turn, avoid, message or Note())


def test_round_robin_passes_over_members_between_incarnations():
    items = members(4)
    for state in (SlotState.RESTARTING, SlotState.SUSPENDED, SlotState.STARTING, SlotState.STOPPED):
        items[1].state = state
        assert pick(RoundRobin(), items, turn=1) is items[2], state


def test_round_robin_falls_back_to_a_restarting_member_when_none_runs():
    items = members(3)
    items[0].state = SlotState.CLOSED
    items[1].state = SlotState.RESTARTING
    items[2].state = SlotState.STARTING
    assert pick(RoundRobin(), items, turn=0) is items[1]
    items[1].state = items[2].state = SlotState.CLOSED
    assert pick(RoundRobin(), items) is None


def test_an_asker_is_its_role_s_last_resort_under_every_strategy():
    strategies = [RoundRobin(), LeastBusy(), Routing.consistent_hash(lambda m: "k")]
    for strategy in strategies:
        items = members(2)
        asker, other = items
        other.state = SlotState.RESTARTING
        assert pick(strategy, items, avoid=asker) is other, strategy
        other.state = SlotState.CLOSED
        assert pick(strategy, items, avoid=asker) is asker, strategy


def test_least_busy_takes_an_idle_member_with_nothing_queued_first():
    items = members(4)
    items[0].current = object()  # handling a message
    items[1].mailbox.size = 1
    items[3].mailbox.size = 5
    assert pick(LeastBusy(), items, turn=0) is items[2]


def test_least_busy_otherwise_takes_the_smallest_load():
    items = members(3)
    for member, queued in zip(items, (4, 1, 2), strict=True):
        member.current = object()
        member.mailbox.size = queued
    assert pick(LeastBusy(), items, turn=0) is items[1]


def test_least_busy_breaks_ties_in_turn():
    items = members(4)
    chosen = [pick(LeastBusy(), items, turn=turn) for turn in range(8)]
    assert chosen == items + items


def test_least_busy_passes_over_a_restarting_member_even_with_an_empty_mailbox():
    items = members(2)
    items[0].state = SlotState.RESTARTING
    items[1].mailbox.size = 50
    assert pick(LeastBusy(), items) is items[1]


def test_consistent_hash_sends_a_key_to_the_same_member_whatever_the_turn():
    strategy = Routing.consistent_hash(lambda m: m.text)
    items = members(5)
    for key in ("alpha", "beta", "gamma"):
        owners = {pick(strategy, items, turn, message=Note(text=key)).name for turn in range(20)}
        assert len(owners) == 1, key


def test_consistent_hash_spreads_keys_over_the_members():
    strategy = Routing.consistent_hash(lambda m: m.text)
    items = members(4)
    owners = Counter(pick(strategy, items, message=Note(text=f"k{i}")).name for i in range(400))
    assert set(owners) == {"m-0", "m-1", "m-2", "m-3"}
    assert min(owners.values()) > 40  # 100 each on average: no member is starved


def test_consistent_hash_moves_only_the_keys_of_a_member_that_leaves():
    strategy = Routing.consistent_hash(lambda m: m.text)
    items = members(4)
    keys = [Note(text=f"k{i}") for i in range(200)]
    before = {k.text: pick(strategy, items, message=k) for k in keys}
    items[2].state = SlotState.CLOSED
    after = {k.text: pick(strategy, items, message=k) for k in keys}
    moved = {key for key in before if after[key] is not before[key]}
    assert moved == {key for key, owner in before.items() if owner is items[2]}
    assert moved


def test_consistent_hash_walks_past_a_restarting_owner_and_comes_back_after():
    strategy = Routing.consistent_hash(lambda m: m.text)
    items = members(4)
    note = Note(text="conversation-7")
    owner = pick(strategy, items, message=note)
    owner.state = SlotState.RESTARTING
    detour = pick(strategy, items, message=note)
    assert detour is not owner
    assert pick(strategy, items, message=note) is detour  # the same detour every time
    for member in items:
        if member is not owner:
            member.state = SlotState.RESTARTING
    assert pick(strategy, items, message=note) is owner  # none runs: it waits at its owner
    for member in items:
        member.state = SlotState.RUNNING
    assert pick(strategy, items, message=note) is owner


def test_consistent_hash_rebuilds_its_ring_when_a_member_joins():
    strategy = Routing.consistent_hash(lambda m: m.text)
    items = members(1)
    assert pick(strategy, items, message=Note(text="x")) is items[0]
    items.extend(members(8)[1:])
    owners = {pick(strategy, items, message=Note(text=f"k{i}")).name for i in range(100)}
    assert len(owners) > 1


def test_the_ring_is_placed_by_a_hash_that_is_the_same_in_every_process():
    # Python's hash() of a str changes with PYTHONHASHSEED: the ring must not depend on it.
    assert _point("coder-1#0") == 0x6082E0C549076902


def test_a_key_that_is_not_a_str_is_refused_at_the_send():
    strategy = Routing.consistent_hash(lambda m: 42)
    with pytest.raises(InvalidConfig, match="must return a str"):
        pick(strategy, members(2))


# -- routing strategies in a running system -------------------------------------------------------


def test_routing_is_round_robin_until_set(system):
    assert system.routing("coder") is Routing.ROUND_ROBIN
    system.set_routing("coder", Routing.LEAST_BUSY)
    assert system.routing("coder") is Routing.LEAST_BUSY
    system.set_routing("coder", Routing.ROUND_ROBIN)
    assert system.routing("coder") is Routing.ROUND_ROBIN


def test_set_routing_refuses_a_bad_strategy_or_role(system):
    with pytest.raises(InvalidConfig) as caught:
        system.set_routing("coder", "least_busy")
    assert isinstance(caught.value, RegimentError)
    with pytest.raises(InvalidAddress):
        system.set_routing("Not A Role", Routing.LEAST_BUSY)
    with pytest.raises(InvalidConfig):
        Routing.consistent_hash("not callable")


@pytest.mark.usefixtures("gates_opened")
def test_least_busy_sends_new_work_to_idle_members_while_one_is_stuck(system):
    seen: list = []
    refs = [system.spawn(Blocker, seen, name=f"w-{i}", roles=("worker",)) for i in range(4)]
    system.set_routing("worker", Routing.LEAST_BUSY)
    release = park(refs[0], "stuck")
    replies = [system.ask("role:worker", Ping(n=i), timeout=WAIT).by for i in range(30)]
    assert "w-0" not in replies
    assert set(replies) == {"w-1", "w-2", "w-3"}  # and the idle ones share it
    release.set()
    drain(system, "w-0")


@pytest.mark.usefixtures("gates_opened")
def test_round_robin_would_queue_work_behind_the_stuck_member(system):
    """The counterpart of the test above: without LEAST_BUSY the stuck member gets its turn."""
    seen: list = []
    refs = [system.spawn(Blocker, seen, name=f"w-{i}", roles=("worker",)) for i in range(4)]
    release = park(refs[0], "stuck")
    for _ in range(8):
        system.tell("role:worker", Note())
    assert refs[0].mailbox_size() == 2
    release.set()
    drain(system, "w-0")


def test_consistent_hashing_keeps_each_key_on_one_member(system):
    seen: list = []
    for i in range(4):
        system.spawn(Recorder, seen, name=f"chat-{i}", roles=("chat",))
    system.set_routing("chat", Routing.consistent_hash(lambda m: m.text))
    for _ in range(10):
        for key in range(12):
            system.tell("role:chat", Note(text=f"conversation-{key}"))
    drain(system, *(f"chat-{i}" for i in range(4)))
    owners: dict[str, set[str]] = {}
    for who, msg in seen:
        if isinstance(msg, Note):
            owners.setdefault(msg.text, set()).add(who)
    assert len(owners) == 12
    assert all(len(who) == 1 for who in owners.values()), owners
    assert len(set().union(*owners.values())) > 1  # the keys are spread, not all on one


def test_consistent_hashing_applies_to_asks_too(system):
    for i in range(3):
        system.spawn(Recorder, name=f"chat-{i}", roles=("chat",))
    system.set_routing("chat", Routing.consistent_hash(lambda m: str(m.n % 2)))
    replies = [system.ask("role:chat", Ping(n=n), timeout=WAIT).by for n in range(10)]
    assert len(set(replies[0::2])) == 1
    assert len(set(replies[1::2])) == 1


def restart_blocked(system: ActorSystem, *names: str):
    """Start ``names`` under a supervisor whose restarts back off until its clock moves 10 s."""
    seen: list = []
    policy = RestartPolicy(backoff=Backoff(min=10.0, max=10.0, jitter=0.0))
    children = [ChildSpec(Recorder, seen, name=name, roles=("worker",)) for name in names]
    sup = system.start_tree(SupervisorSpec("workers", children, policy=policy))
    return sup, seen


def crash_and_wait_for_backoff(system: ActorSystem, sup, name: str) -> None:
    """Crash ``name``; return once it backs off and its supervisor has armed the restart."""
    changes = record_events(system, LifecycleChanged)
    system.tell(name, Boom())
    changes.wait_for(lambda events: any(e.name == name and e.state == "restarting" for e in events))
    sup.children(timeout=WAIT)  # queued behind the failure: the backoff's timer is set


@pytest.mark.parametrize("routing", [Routing.ROUND_ROBIN, Routing.LEAST_BUSY], ids=repr)
def test_a_restarting_member_is_skipped_while_another_runs(clock, routing):
    with ActorSystem("backoff", clock=clock) as system:
        sup, seen = restart_blocked(system, "w-1", "w-2")
        system.set_routing("worker", routing)
        crash_and_wait_for_backoff(system, sup, "w-1")
        for i in range(10):
            assert system.tell("role:worker", Note(text=str(i))) == 1
        replies = {system.ask("role:worker", Ping(), timeout=WAIT).by for _ in range(4)}
        assert replies == {"w-2"}
        advance_and_settle(system, sup, clock, 10.0)
        drain(system, "w-1", "w-2")
        notes = [(who, m.text) for who, m in seen if isinstance(m, Note)]
        assert notes == [("w-2", str(i)) for i in range(10)]  # none lost, none on w-1


def test_consistent_hashing_detours_around_a_restarting_owner(clock):
    with ActorSystem("backoff", clock=clock) as system:
        sup, seen = restart_blocked(system, "w-1", "w-2", "w-3")
        system.set_routing("worker", Routing.consistent_hash(lambda m: m.text))
        system.tell("role:worker", Note(text="k"))
        drain(system, "w-1", "w-2", "w-3")
        (owner,) = {who for who, m in seen if isinstance(m, Note)}
        crash_and_wait_for_backoff(system, sup, owner)
        seen.clear()
        for _ in range(5):
            system.tell("role:worker", Note(text="k"))
        advance_and_settle(system, sup, clock, 10.0)
        drain(system, "w-1", "w-2", "w-3")
        detours = {who for who, m in seen if isinstance(m, Note)}
        assert len(detours) == 1
        assert owner not in detours
        seen.clear()
        system.tell("role:worker", Note(text="k"))
        drain(system, owner)
        assert [who for who, m in seen if isinstance(m, Note)] == [owner]  # back home


@pytest.mark.parametrize(
    "routing",
    [Routing.ROUND_ROBIN, Routing.LEAST_BUSY, Routing.consistent_hash(lambda m: "k")],
    ids=repr,
)
def test_a_sole_restarting_member_keeps_the_message_until_it_is_back(clock, routing):
    with ActorSystem("backoff", clock=clock) as system:
        sup, seen = restart_blocked(system, "w-1")
        system.set_routing("worker", routing)
        crash_and_wait_for_backoff(system, sup, "w-1")
        assert system.tell("role:worker", Note(text="waits")) == 1
        assert system.ref("w-1").mailbox_size() == 1
        advance_and_settle(system, sup, clock, 10.0)
        drain(system, "w-1")
        assert [m.text for _, m in seen if isinstance(m, Note)] == ["waits"]
        assert dead_letter_count(system, DeadLetterReason.NO_ROLE_MEMBER) == 0
