"""Contract tests: the pykka 4.5 behaviours regiment relies on (see shared/pykka-notes.md).

If a pykka upgrade breaks one of these, regiment needs a change before the pin moves.
"""

from __future__ import annotations

import logging
import threading

import pykka
import pytest

from actors import ActorSystem, AgentActor, Future
from actors._mailboxes import FifoQueue
from tests.helpers import runtime
from tests.messages import Ping, Recorder


def test_pykka_is_the_pinned_minor_version():
    from importlib.metadata import version

    assert version("pykka").startswith("4.5.")


def test_actor_init_takes_its_inbox_from_the_classmethod_hook():
    class Custom(pykka.ThreadingActor):
        made: list[object] = []

        @classmethod
        def _create_actor_inbox(cls):  # type: ignore[override]
            inbox = FifoQueue("custom", lambda item, reason: None)
            cls.made.append(inbox)
            return inbox

    actor = Custom()
    assert actor.actor_inbox is Custom.made[0]
    assert actor.actor_ref.actor_inbox is Custom.made[0]


def test_actor_init_sets_urn_stopped_event_and_ref_without_registering():
    actor = pykka.ThreadingActor()
    assert actor.actor_urn.startswith("urn:uuid:")
    assert isinstance(actor.actor_stopped, threading.Event)
    assert not actor.actor_stopped.is_set()
    assert isinstance(actor.actor_ref, pykka.ActorRef)
    assert actor.actor_ref not in pykka.ActorRegistry.get_all()


def test_regiment_agents_are_not_in_pykkas_global_registry(system):
    system.spawn(Recorder, name="a")
    assert all(not issubclass(ref.actor_class, AgentActor) for ref in pykka.ActorRegistry.get_all())


def test_a_base_exception_in_a_plain_pykka_actor_does_not_stop_regiment_agents(system):
    class Exiting(pykka.ThreadingActor):
        def on_receive(self, message: object) -> None:
            raise SystemExit(1)

    system.spawn(Recorder, name="a")
    plain = Exiting.start()
    plain.tell("bye")  # pykka answers a BaseException with ActorRegistry.stop_all()
    assert plain.actor_stopped.wait(5)
    assert system.ask("a", Ping(n=1), timeout=5).by == "a"


def test_pykka_future_combinators_build_instances_of_our_class_and_use_get_hooks():
    first: Future[int] = Future()
    second: Future[int] = Future()
    mapped = first.map(lambda v: v * 10)
    joined = first.join(second)
    assert isinstance(mapped, Future)
    first.resolve(4)
    second.resolve(5)
    assert mapped.get(timeout=1) == 40
    assert joined.get(timeout=1) == [4, 5]
    assert pykka.get_all([first, second], timeout=1) == [4, 5]


def test_pykka_logs_through_the_single_pykka_logger():
    assert logging.getLogger("pykka").handlers, "pykka's logger exists and has handlers"
    with ActorSystem("log-contract"):
        names = {type(h).__name__ for h in logging.getLogger("pykka").handlers}
    assert "InterceptHandler" in names


def test_threading_actor_exposes_the_implementor_hooks_regiment_overrides():
    for hook in ("_create_actor_inbox", "_create_future", "_start_actor_loop"):
        assert hasattr(pykka.ThreadingActor, hook)
    for hook in ("on_start", "on_stop", "on_failure", "on_receive"):
        assert callable(getattr(pykka.ThreadingActor, hook))


def test_pykka_future_get_is_keyword_only_timeout():
    import inspect

    params = inspect.signature(pykka.Future.get).parameters
    assert params["timeout"].kind is inspect.Parameter.KEYWORD_ONLY


def test_a_pykka_actor_ref_put_into_an_agents_mailbox_is_refused_not_fatal(system):
    system.spawn(Recorder, name="a")
    slot = runtime(system).router.table.names["a"]
    assert slot.instance is not None
    raw = slot.instance.actor_ref
    with pytest.raises(Exception, match="AgentRef"):
        raw.ask("hello", timeout=5)
    assert system.ask("a", Ping(n=2), timeout=5).n == 2
