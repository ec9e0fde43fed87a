"""Direct, role and broadcast addressing, and dead letters for what cannot be delivered."""

from __future__ import annotations

from collections import Counter

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    Broadcast,
    DeadLetter,
    DeadLetterReason,
    InvalidAddress,
    InvalidMessage,
    Role,
    handler,
)
from tests.helpers import dead_letter_count, record_events
from tests.messages import Note, Ping, Pong, Recorder


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
