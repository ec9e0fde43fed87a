"""ActorSystem: spawning, names, isolation, shutdown, fatal failure reporting."""

from __future__ import annotations

import logging
import threading

import pytest
from loguru import logger

from actors import (
    ActorSystem,
    AgentActor,
    AgentStopped,
    InvalidAddress,
    InvalidConfig,
    StartFailed,
    SystemStopped,
    UnknownAddress,
    handler,
)
from actors.testing import expect_event
from supervision import ChildSpec, InvalidTree, Restart
from tests.helpers import logged, runtime
from tests.messages import Note, Ping, Pong, Recorder


def test_spawn_returns_a_ref_after_on_start_ran(system):
    started = threading.Event()

    class Starter(AgentActor):
        def on_start(self) -> None:
            started.set()

    ref = system.spawn(Starter, name="s")
    assert started.is_set()
    assert ref.name == "s"
    assert ref.is_alive()


def test_spawn_passes_constructor_arguments(system):
    class Greeter(AgentActor):
        def __init__(self, greeting: str, *, punctuation: str = ".") -> None:
            super().__init__()
            self.text = greeting + punctuation

        @handler
        def on_ping(self, msg: Ping) -> str:
            return self.text

    system.spawn(Greeter, "hello", name="g", punctuation="!")
    assert system.ask("g", Ping(), timeout=5) == "hello!"


def test_roles_come_from_the_class_unless_spawn_names_others(system):
    class Coder(Recorder):
        roles = ("coder", "writer")

    assert system.spawn(Coder, name="c1").roles == frozenset({"coder", "writer"})
    assert system.spawn(Coder, name="c2", roles=("reviewer",)).roles == frozenset({"reviewer"})


def test_a_name_is_generated_when_none_is_given(system):
    ref = system.spawn(Recorder)
    assert ref.name.startswith("recorder-")
    assert system.ask(ref.name, Ping(n=1), timeout=5).by == ref.name


def test_a_duplicate_name_raises_and_leaves_the_first_agent_working(system):
    first = system.spawn(Recorder, name="dup")
    with pytest.raises(InvalidTree, match="already taken"):
        system.spawn(Recorder, name="dup")
    assert first.ask(Ping(n=1), timeout=5) == Pong(n=1, by="dup")
    assert [r.name for r in system.agents()] == ["dup"]


@pytest.mark.parametrize("bad", ["Upper", "with space", "", "a.b", "x" * 65])
def test_invalid_names_are_rejected_at_spawn(system, bad):
    with pytest.raises(InvalidConfig):
        system.spawn(Recorder, name=bad)
    assert system.agents() == []


def test_invalid_roles_are_rejected_at_spawn(system):
    with pytest.raises(InvalidConfig):
        system.spawn(Recorder, name="a", roles=("Bad Role",))


def test_a_failing_on_start_fails_the_spawn_and_frees_the_name(system):
    class Broken(AgentActor):
        def on_start(self) -> None:
            raise ValueError("no config")

    with pytest.raises(StartFailed) as info:
        system.spawn(Broken, name="broken")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.agent == "broken"
    assert system.spawn(Recorder, name="broken").ask(Ping(), timeout=5).by == "broken"


def test_a_constructor_that_forgets_super_init_is_a_clear_start_failure(system):
    class Forgetful(AgentActor):
        def __init__(self) -> None:
            pass

    with pytest.raises(StartFailed):
        system.spawn(Forgetful, name="f")


def test_pykka_start_is_refused_with_a_pointer_to_spawn():
    with pytest.raises(TypeError, match="spawn"):
        Recorder.start()


def test_ref_of_an_unknown_name_raises(system):
    with pytest.raises(UnknownAddress):
        system.ref("ghost")


def test_two_systems_share_nothing():
    with ActorSystem("one") as one, ActorSystem("two") as two:
        one.spawn(Recorder, name="same")
        two.spawn(Recorder, name="same")
        two.spawn(Recorder, name="only-two")
        assert one.ask("same", Ping(n=1), timeout=5) == Pong(n=1, by="same")
        assert two.ask("same", Ping(n=2), timeout=5) == Pong(n=2, by="same")
        assert one.tell("only-two", Note()) == 0
        assert [r.name for r in one.agents()] == ["same"]
        assert one.shutdown(timeout=10)
        assert two.ask("same", Ping(n=3), timeout=5).n == 3


def test_shutdown_stops_agents_in_reverse_start_order_and_joins_threads():
    stops: list[str] = []

    class Tracked(AgentActor):
        def on_stop(self) -> None:
            stops.append(self.name)

    before = threading.active_count()
    system = ActorSystem("ordered")
    for name in ("first", "second", "third"):
        system.spawn(Tracked, name=name)
    assert threading.active_count() > before
    assert system.shutdown(timeout=10)
    assert stops == ["third", "second", "first"]
    assert threading.active_count() == before
    assert system.wait(0)


def test_shutdown_is_idempotent_and_refuses_new_work_afterwards():
    system = ActorSystem("done")
    system.spawn(Recorder, name="a")
    assert system.shutdown()
    assert system.shutdown()
    with pytest.raises(SystemStopped):
        system.spawn(Recorder, name="b")
    with pytest.raises(SystemStopped):
        system.tell("a", Note())


def test_an_agent_can_shut_its_own_system_down():
    class Quitter(AgentActor):
        @handler
        def on_note(self, msg: Note) -> None:
            self.system.shutdown()

    system = ActorSystem("quitting")
    system.spawn(Quitter, name="q")
    system.tell("q", Note())
    assert system.wait(10)
    assert system.shutdown()


def test_shutdown_callbacks_run_once_in_order_after_the_agents_stopped(logs):
    seen: list[str] = []

    class Tracked(AgentActor):
        def on_stop(self) -> None:
            seen.append("agent stopped")

    def failing() -> None:
        seen.append("failing")
        raise RuntimeError("hook broke")

    system = ActorSystem("hooks")
    system.spawn(Tracked, name="a")
    hooks = runtime(system)
    hooks.on_shutdown(lambda: seen.append(f"first, stopped={system.wait(0)}"))
    hooks.on_shutdown(failing)
    removed = hooks.on_shutdown(lambda: seen.append("removed"))
    hooks.on_shutdown(lambda: seen.append("last"))
    removed()
    assert system.shutdown(timeout=10)
    assert system.shutdown(timeout=10)
    assert seen == ["agent stopped", "first, stopped=False", "failing", "last"]
    assert logged("a shutdown callback raised", "ERROR")(logs.items())


def test_a_shutdown_callback_added_after_the_shutdown_is_called_at_once():
    system = ActorSystem("late")
    assert system.shutdown(timeout=10)
    called = threading.Event()
    remove = runtime(system).on_shutdown(called.set)
    assert called.is_set()
    remove()  # a no-op now


def test_many_systems_started_and_stopped_leak_no_threads():
    before = threading.active_count()
    for i in range(20):
        with ActorSystem(f"s{i}") as system:
            system.spawn(Recorder, name="a")
            system.ask("a", Ping(), timeout=5)
    assert threading.active_count() == before


def test_bad_system_settings_are_rejected():
    with pytest.raises(InvalidConfig):
        ActorSystem("ok", ask_timeout=0)
    with pytest.raises(InvalidAddress):
        ActorSystem("Bad Name")


def test_pykka_log_records_are_routed_into_loguru(logs):
    with ActorSystem("logs"):
        logging.getLogger("pykka").warning("from pykka's logger")
    assert "from pykka's logger" in [record["message"] for record in logs.items()]


def test_the_library_never_adds_or_removes_loguru_sinks():
    handlers_before = dict(logger._core.handlers)  # type: ignore[attr-defined]
    with ActorSystem("sinks") as system:
        system.spawn(Recorder, name="a")
        system.tell("ghost", Note())
    assert dict(logger._core.handlers) == handlers_before  # type: ignore[attr-defined]


def test_a_duplicate_name_is_both_a_duplicate_name_and_an_invalid_tree(system):
    from actors import DuplicateName

    system.spawn(Recorder, name="taken")
    with pytest.raises(DuplicateName) as info:
        system.spawn(Recorder, name="taken")
    assert isinstance(info.value, InvalidTree)
    assert info.value.name == "taken"


def test_calling_ones_own_supervisor_from_on_start_fails_fast_instead_of_deadlocking(system):
    import time

    class Spawner(AgentActor):
        def on_start(self) -> None:
            self.system.spawn(Recorder, name="child")

    started = time.monotonic()
    with pytest.raises(StartFailed) as info:
        system.spawn(Spawner, name="spawner")
    assert time.monotonic() - started < 4, "must not wait for the start timeout"
    assert "on_start" in str(info.value.__cause__)


def test_an_agent_that_stops_itself_in_on_start_stops_without_a_message(system):
    class OneShot(AgentActor):
        def on_start(self) -> None:
            self.stop()

    ref = system.spawn(ChildSpec(OneShot, name="one-shot", restart=Restart.TRANSIENT))
    # else the agent kept running until a message arrived
    expect_event(system, AgentStopped, name="one-shot", timeout=5)
    assert not ref.is_alive()
