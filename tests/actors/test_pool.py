"""Pools: a supervisor of identical agents sharing a role, resized while it runs."""

from __future__ import annotations

import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentStatus,
    AgentUnavailable,
    DeadLetterReason,
    InvalidAddress,
    InvalidConfig,
    LifecycleChanged,
    PoolFull,
    RegimentError,
    Routing,
    StartFailed,
    UnknownAddress,
    handler,
)
from supervision import Backoff, PoolRef, RestartPolicy, Strategy
from tests.helpers import (
    WAIT,
    advance_and_settle,
    dead_letter_count,
    park,
    record_events,
    runtime,
)
from tests.messages import Blocker, Boom, Note, Ping, Recorder


def names(pool: PoolRef) -> list[str]:
    return [ref.name for ref in pool.members()]


def shrink_in_a_thread(system: ActorSystem, pool: PoolRef, size: int, member: str):
    """Start ``pool.resize(size)``; return once its supervisor has told ``member`` to stop.

    (The supervisor waits for that member then: a stop request has no event of its own, so
    this polls with short event waits.)
    """
    resizing = threading.Thread(target=pool.resize, args=(size,), kwargs={"timeout": WAIT})
    resizing.start()
    names = runtime(system).router.table.names
    supervisor, slot = names[pool.name], names[member]
    tick = threading.Event()
    for _ in range(int(WAIT / 0.005)):
        if supervisor.waiting_for is slot:
            return resizing
        tick.wait(0.005)
    pytest.fail(f"{pool.name!r} never began stopping {member!r}")


def test_a_pool_starts_numbered_members_holding_its_role_under_a_supervisor(system):
    pool = system.spawn_pool(Recorder, name="coders", size=4, role="coder")
    assert pool.size == 4
    assert names(pool) == ["coders-1", "coders-2", "coders-3", "coders-4"]
    sup = system.supervisor("coders")
    assert sup == pool.supervisor
    children = sup.children(timeout=WAIT)
    assert [c.name for c in children] == names(pool)
    assert all(c.roles == ("coder",) for c in children)


def test_a_pool_routes_its_role_least_busy_unless_told_otherwise(system):
    system.spawn_pool(Recorder, name="coders", size=2, role="coder")
    assert system.routing("coder") is Routing.LEAST_BUSY
    system.spawn_pool(Recorder, name="chat", size=2, role="chat", routing=Routing.ROUND_ROBIN)
    assert system.routing("chat") is Routing.ROUND_ROBIN


def test_pool_members_get_the_constructor_arguments(system):
    seen: list = []
    system.spawn_pool(Recorder, seen, name="coders", size=3, role="coder")
    replies = {system.ask("role:coder", Ping(n=i), timeout=WAIT).by for i in range(3)}
    assert replies <= {"coders-1", "coders-2", "coders-3"}
    assert len(seen) == 3


def test_growing_a_pool_starts_the_next_numbers(system):
    pool = system.spawn_pool(Recorder, name="coders", size=2, role="coder", max_size=8)
    pool.resize(5, timeout=WAIT)
    assert pool.size == 5
    assert names(pool) == [f"coders-{i}" for i in range(1, 6)]
    assert system.ask("coders-5", Ping(), timeout=WAIT).by == "coders-5"
    assert "coder" in system.ref("coders-5").info().roles


def test_shrinking_a_pool_stops_the_highest_numbered_members(system):
    stopped = record_events(system, LifecycleChanged)
    pool = system.spawn_pool(Recorder, name="coders", size=4, role="coder")
    pool.resize(2, timeout=WAIT)
    assert pool.size == 2
    assert names(pool) == ["coders-1", "coders-2"]
    order = [e.name for e in stopped.items() if e.state == "closed"]
    assert order == ["coders-4", "coders-3"]
    replies = {system.ask("role:coder", Ping(), timeout=WAIT).by for _ in range(6)}
    assert replies == {"coders-1", "coders-2"}


def test_a_pool_grows_back_into_the_numbers_a_shrink_freed(system):
    pool = system.spawn_pool(Recorder, name="coders", size=4, role="coder")
    pool.resize(1, timeout=WAIT)
    pool.resize(3, timeout=WAIT)
    assert names(pool) == ["coders-1", "coders-2", "coders-3"]


def test_a_pool_can_be_resized_to_zero_and_back(system):
    pool = system.spawn_pool(Recorder, name="coders", size=2, role="coder")
    pool.resize(0, timeout=WAIT)
    assert pool.members() == []
    assert system.tell("role:coder", Note()) == 0
    assert dead_letter_count(system, DeadLetterReason.NO_ROLE_MEMBER) == 1
    pool.resize(1, timeout=WAIT)
    assert system.ask("role:coder", Ping(), timeout=WAIT).by == "coders-1"


def test_growing_a_pool_past_its_max_size_raises_pool_full_and_starts_nothing(system):
    pool = system.spawn_pool(Recorder, name="coders", size=2, role="coder", max_size=3)
    with pytest.raises(PoolFull) as caught:
        pool.resize(4, timeout=WAIT)
    error = caught.value
    assert isinstance(error, RegimentError)
    assert (error.pool, error.max_size, error.requested) == ("coders", 3, 4)
    assert pool.size == 2
    pool.resize(3, timeout=WAIT)  # up to max_size is fine
    assert pool.size == 3


def test_a_pool_cannot_start_larger_than_its_max_size(system):
    with pytest.raises(PoolFull):
        system.spawn_pool(Recorder, name="coders", size=4, role="coder", max_size=3)
    assert system.agents() == []


@pytest.mark.usefixtures("gates_opened")
def test_a_shrink_lets_a_member_finish_its_message_and_dead_letters_its_queue(system):
    finished = threading.Event()

    class Worker(Blocker):
        def on_stop(self) -> None:
            finished.set()

    pool = system.spawn_pool(Worker, name="coders", size=2, role="coder")
    release = park(system.ref("coders-2"), "shrink")
    system.tell("coders-2", Note(text="queued"))
    resizing = shrink_in_a_thread(system, pool, 1, "coders-2")
    try:
        assert pool.size == 2, "coders-2 is still handling its message"
        assert not finished.is_set()
    finally:
        release.set()
        resizing.join(WAIT)
    assert not resizing.is_alive()
    assert finished.is_set()
    assert names(pool) == ["coders-1"]
    assert dead_letter_count(system, DeadLetterReason.STOPPED) == 1


@pytest.mark.usefixtures("gates_opened")
def test_a_queued_ask_fails_at_once_when_its_member_is_shrunk_away(system):
    pool = system.spawn_pool(Blocker, name="coders", size=2, role="coder")
    release = park(system.ref("coders-2"), "ask")
    future = system.ask_future("coders-2", Ping(), timeout=WAIT)
    resizing = shrink_in_a_thread(system, pool, 1, "coders-2")
    release.set()
    resizing.join(WAIT)
    with pytest.raises(AgentUnavailable):
        future.get(timeout=WAIT)


def test_pool_members_are_supervised_and_restart_in_place(system):
    pool = system.spawn_pool(Recorder, name="coders", size=2, role="coder")
    crashed = record_events(system, LifecycleChanged)
    system.tell("coders-1", Boom())
    crashed.wait_for(
        lambda events: any(e.name == "coders-1" and e.state == "running" for e in events)
    )
    assert system.ref("coders-1").info().restarts == 1
    assert names(pool) == ["coders-1", "coders-2"]


def test_a_pool_member_backing_off_is_skipped_and_nothing_is_lost(clock):
    with ActorSystem("pool", clock=clock) as system:
        seen: list = []
        policy = RestartPolicy(backoff=Backoff(min=10.0, max=10.0, jitter=0.0))
        pool = system.spawn_pool(Recorder, seen, name="coders", size=2, role="coder", policy=policy)
        changes = record_events(system, LifecycleChanged)
        system.tell("coders-1", Boom())
        changes.wait_for(
            lambda events: any(e.name == "coders-1" and e.state == "restarting" for e in events)
        )
        pool.supervisor.children(timeout=WAIT)  # the backoff is armed: the clock stands
        assert system.ref("coders-1").status() is AgentStatus.RESTARTING
        for i in range(6):
            system.tell("role:coder", Note(text=str(i)))
        assert system.ask("role:coder", Ping(), timeout=WAIT).by == "coders-2"
        advance_and_settle(system, pool.supervisor, clock, 10.0)
        system.ask("coders-1", Ping(), timeout=WAIT)
        notes = [(who, m.text) for who, m in seen if isinstance(m, Note)]
        assert notes == [("coders-2", str(i)) for i in range(6)]


def test_a_pool_takes_a_supervision_strategy(system):
    pool = system.spawn_pool(
        Recorder, name="coders", size=2, role="coder", strategy=Strategy.ONE_FOR_ALL
    )
    changes = record_events(system, LifecycleChanged)
    system.tell("coders-1", Boom())
    changes.wait_for(
        lambda events: {e.name for e in events if e.state == "running"} >= {"coders-1", "coders-2"}
    )
    assert pool.size == 2


def test_stopping_a_pool_stops_its_supervisor_and_every_member(system):
    pool = system.spawn_pool(Recorder, name="coders", size=3, role="coder")
    assert pool.stop(timeout=WAIT)
    assert not pool.is_alive()
    assert system.agents() == []
    assert pool.members() == []
    assert system.tell("role:coder", Note()) == 0


def test_a_pool_refuses_bad_settings_before_starting_anything(system):
    with pytest.raises(InvalidConfig):
        system.spawn_pool(Recorder, name="coders", size=-1, role="coder")
    with pytest.raises(InvalidConfig):
        system.spawn_pool(Recorder, name="coders", size=2, role="coder", max_size=0)
    with pytest.raises(InvalidConfig):
        system.spawn_pool(Recorder, name="coders", size=2, role="coder", roles=("x",))
    with pytest.raises(InvalidConfig):
        system.spawn_pool(Recorder, name="coders", size=2, role="coder", routing="fast")
    with pytest.raises(InvalidAddress):
        system.spawn_pool(Recorder, name="coders", size=2, role="Bad Role")
    with pytest.raises(InvalidAddress):
        system.spawn_pool(Recorder, name="Bad Name", size=2, role="coder")
    assert system.agents() == []
    assert system.routing("coder") is Routing.ROUND_ROBIN, "nothing was set either"
    pool = system.spawn_pool(Recorder, name="coders", size=1, role="coder")
    with pytest.raises(InvalidConfig):
        pool.resize(-1, timeout=WAIT)
    with pytest.raises(InvalidConfig):
        pool.resize(2, timeout=-1.0)


def test_a_pool_member_failing_to_start_leaves_no_pool_behind(system):
    class Broken(AgentActor):
        def on_start(self) -> None:
            raise RuntimeError("no")

        @handler
        def on_note(self, msg: Note) -> None:
            pass

    with pytest.raises(StartFailed):
        system.spawn_pool(Broken, name="broken", size=2, role="broken")
    assert system.agents() == []
    with pytest.raises(UnknownAddress):
        system.supervisor("broken")


def test_the_system_lists_its_running_pools_and_forgets_a_stopped_one(system):
    assert system.pools() == []
    coders = system.spawn_pool(Recorder, name="coders", size=1, role="coder")
    testers = system.spawn_pool(Recorder, name="testers", size=1, role="tester")
    assert [pool.name for pool in system.pools()] == ["coders", "testers"]
    assert system.pools()[0].role == "coder"
    coders.stop(timeout=WAIT)
    assert [pool.name for pool in system.pools()] == ["testers"]
    testers.resize(2, timeout=WAIT)
    assert system.pools()[0].size == 2
