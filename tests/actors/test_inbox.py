"""External inboxes: participants that are not agents, read by plain threads and coroutines."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentStatus,
    AgentUnavailable,
    AskTimeout,
    DeadLetterReason,
    DuplicateName,
    Envelope,
    ExitReason,
    Inbox,
    InboxClosed,
    InboxEmpty,
    InvalidAddress,
    InvalidConfig,
    MailboxFull,
    Message,
    Overflow,
    StopReason,
    SystemStopped,
    Terminated,
    UnknownAddress,
    handler,
)
from actors.testing import TestProbe
from tests.helpers import WAIT, Journal, Watcher, dead_letter_count
from tests.messages import Note, Recorder, Watch


class Question(Message):
    text: str


class Answer(Message):
    text: str


class Task(Message):
    title: str


class Decision(Message):
    title: str
    approved: bool


class Planner(AgentActor):
    """Asks a human (role ``human``) before deciding on a task."""

    @handler
    def on_task(self, msg: Task) -> Decision:
        answer: Answer = self.ask(
            "role:human", Question(text=f"go ahead with {msg.title}?"), timeout=WAIT
        )
        return Decision(title=msg.title, approved=answer.text == "yes")


def answer_in_a_thread(inbox: Inbox, text: str) -> tuple[threading.Thread, list[Envelope]]:
    """A plain thread that takes one envelope from ``inbox`` and replies ``Answer(text)``."""
    taken: list[Envelope] = []

    def human() -> None:
        envelope = inbox.get(timeout=WAIT)
        taken.append(envelope)
        inbox.reply(envelope, Answer(text=text))

    thread = threading.Thread(target=human, name="test-human")
    thread.start()
    return thread, taken


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` with short event waits (a status has no event of its own)."""
    tick = threading.Event()
    for _ in range(int(WAIT / 0.005)):
        if condition():
            return
        tick.wait(0.005)
    pytest.fail(f"timed out waiting until {what}")


# -- the human in the loop ----------------------------------------------------------------------


def test_an_agent_asking_role_human_waits_until_a_plain_thread_answers_through_the_inbox(system):
    inbox = system.inbox("alice", roles=("human",))
    planner = system.spawn(Planner, name="planner")
    asked, go = threading.Event(), threading.Event()
    taken: list[Envelope] = []

    def human() -> None:
        envelope = inbox.get(timeout=WAIT)
        taken.append(envelope)
        asked.set()
        if go.wait(WAIT):
            inbox.reply(envelope, Answer(text="yes"))

    thread = threading.Thread(target=human, name="test-human")
    thread.start()
    decision = system.ask_future("planner", Task(title="deploy"), timeout=WAIT)
    assert asked.wait(WAIT), "the question never reached the inbox"
    wait_until(lambda: planner.status() is AgentStatus.WAITING, "the planner waits")
    assert not decision.done()
    go.set()
    assert decision.get(timeout=WAIT) == Decision(title="deploy", approved=True)
    thread.join(WAIT)
    [question] = taken
    assert question.body == Question(text="go ahead with deploy?")
    assert question.sender == "planner"
    assert question.kind == "query"


def test_a_reply_to_a_told_question_goes_to_reply_to_as_a_correlated_response(system):
    client = TestProbe(system, "client")
    inbox = system.inbox("alice")
    system.tell("alice", Question(text="?"), reply_to="client", correlation_id="conv-1")
    request = inbox.get(timeout=WAIT)
    assert inbox.reply(request, Note(text="answer")) is True
    reply = client.expect(Note, text="answer", timeout=WAIT)
    assert reply.kind == "response"
    assert reply.sender == "alice"
    assert reply.correlation_id == "conv-1"
    assert reply.causation_id == request.id


def test_a_reply_to_an_ask_whose_asker_timed_out_is_dropped_without_error(system):
    inbox = system.inbox("alice")
    future = system.ask_future("alice", Question(text="quick?"), timeout=0.05)
    envelope = inbox.get(timeout=WAIT)
    with pytest.raises(AskTimeout):
        future.get(timeout=WAIT)
    assert inbox.reply(envelope, Answer(text="too late")) is False
    assert isinstance(future.exception(), AskTimeout)


# -- addressing ----------------------------------------------------------------------------------


def test_tells_by_name_role_and_broadcast_reach_the_inbox(system):
    inbox = system.inbox("alice", roles=("human",))
    assert system.tell("alice", Note(text="by name")) == 1
    assert system.tell("role:human", Note(text="by role")) == 1
    assert system.broadcast(Note(text="to all")) == 1
    assert system.broadcast(Note(text="to humans"), role="human") == 1
    assert [e.body.text for e in inbox.drain()] == ["by name", "by role", "to all", "to humans"]


def test_a_broadcast_reaches_agents_and_inboxes_alike(system):
    seen: list = []
    system.spawn(Recorder, seen, name="worker")
    inbox = system.inbox("alice")
    assert system.broadcast(Note(text="hello")) == 2
    assert inbox.get(timeout=WAIT).body == Note(text="hello")


def test_an_agent_can_watch_an_inbox_and_hears_when_it_closes(system):
    journal = Journal()
    watcher = system.spawn(Watcher, journal, name="watcher")
    inbox = system.inbox("alice")
    watcher.ask(Watch(name="alice"), timeout=WAIT)
    inbox.close()
    [notice] = journal.wait_len(1)
    assert notice == Terminated(name="alice", reason=ExitReason.NORMAL)


# -- reading -------------------------------------------------------------------------------------


def test_peek_does_not_consume_and_drain_does(system):
    inbox = system.inbox("alice")
    for n in range(3):
        system.tell("alice", Note(text=str(n)))
    assert [e.body.text for e in inbox.peek()] == ["0", "1", "2"]
    assert len(inbox) == 3
    assert [e.body.text for e in inbox.drain()] == ["0", "1", "2"]
    assert len(inbox) == 0
    assert inbox.peek() == []
    assert inbox.drain() == []


def test_get_takes_the_oldest_envelope_first(system):
    inbox = system.inbox("alice")
    system.tell("alice", Note(text="first"))
    system.tell("alice", Note(text="second"))
    assert inbox.get(timeout=WAIT).body == Note(text="first")
    assert [e.body.text for e in inbox.peek()] == ["second"]


def test_clear_drops_what_is_pending_and_fails_pending_asks_at_once(system):
    inbox = system.inbox("alice")
    system.tell("alice", Note(text="a"))
    future = system.ask_future("alice", Question(text="?"), timeout=WAIT)
    assert inbox.clear() == 2
    assert len(inbox) == 0
    with pytest.raises(AgentUnavailable):
        future.get(timeout=WAIT)
    assert inbox.clear() == 0


def test_total_received_counts_every_envelope_ever_accepted(system):
    inbox = system.inbox("alice")
    assert inbox.total_received == 0
    for n in range(5):
        system.tell("alice", Note(text=str(n)))
    inbox.get(timeout=WAIT)
    inbox.drain()
    system.tell("alice", Note(text="late"))
    assert inbox.total_received == 6
    assert len(inbox) == 1


def test_get_on_an_empty_inbox_raises_inbox_empty_after_the_timeout(system):
    inbox = system.inbox("alice")
    started = time.monotonic()
    with pytest.raises(InboxEmpty) as caught:
        inbox.get(timeout=0.05)
    assert time.monotonic() - started >= 0.05
    assert caught.value.inbox == "alice"
    assert caught.value.timeout == 0.05
    assert isinstance(caught.value, TimeoutError)


def test_get_with_a_zero_timeout_only_looks(system):
    inbox = system.inbox("alice")
    with pytest.raises(InboxEmpty):
        inbox.get(timeout=0)
    system.tell("alice", Note(text="here"))
    assert inbox.get(timeout=0).body == Note(text="here")


def test_a_get_blocked_in_one_thread_gets_what_another_thread_sends(system):
    inbox = system.inbox("alice")
    thread, taken = answer_in_a_thread(inbox, "ok")
    system.tell("alice", Note(text="wake up"))
    thread.join(WAIT)
    assert not thread.is_alive()
    assert [e.body for e in taken] == [Note(text="wake up")]


# -- closing -------------------------------------------------------------------------------------


def test_close_dead_letters_what_is_pending_and_frees_the_name(system):
    inbox = system.inbox("alice")
    system.tell("alice", Note(text="unread"))
    future = system.ask_future("alice", Question(text="?"), timeout=WAIT)
    inbox.close()
    assert inbox.closed
    assert dead_letter_count(system, DeadLetterReason.STOPPED) == 2
    with pytest.raises(AgentUnavailable):
        future.get(timeout=WAIT)
    assert system.tell("alice", Note(text="after")) == 0
    assert dead_letter_count(system, DeadLetterReason.STOPPED) == 3, "later sends: stopped"
    with pytest.raises(AgentUnavailable):
        system.ask("alice", Question(text="still there?"), timeout=WAIT)
    again = system.inbox("alice")  # the name is free again
    assert system.tell("alice", Note(text="to the new one")) == 1
    assert [e.body for e in again.drain()] == [Note(text="to the new one")]


def test_close_wakes_a_get_blocked_in_another_thread_with_inbox_closed(system):
    inbox = system.inbox("alice")
    outcome: list[BaseException] = []
    waiting = threading.Event()

    def reader() -> None:
        waiting.set()
        try:
            inbox.get(timeout=WAIT)
        except InboxClosed as exc:
            outcome.append(exc)

    thread = threading.Thread(target=reader, name="test-reader")
    thread.start()
    assert waiting.wait(WAIT)
    inbox.close()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert [type(e) for e in outcome] == [InboxClosed]


def test_a_closed_inbox_reads_as_empty_and_get_raises_at_once(system):
    with system.inbox("alice") as inbox:
        system.tell("alice", Note(text="x"))
    assert inbox.closed
    assert len(inbox) == 0
    assert inbox.peek() == []
    assert inbox.drain() == []
    with pytest.raises(InboxClosed):
        inbox.get(timeout=WAIT)
    inbox.close()  # idempotent


def test_shutdown_closes_inboxes_wakes_readers_and_fails_pending_asks():
    system = ActorSystem("inboxes")
    asked = system.inbox("alice")
    future = system.ask_future("alice", Question(text="?"), timeout=WAIT)
    read = system.inbox("bob")
    outcome: list[BaseException] = []
    waiting = threading.Event()

    def reader() -> None:
        waiting.set()
        try:
            read.get(timeout=WAIT)
        except InboxClosed as exc:
            outcome.append(exc)

    thread = threading.Thread(target=reader, name="test-reader")
    thread.start()
    assert waiting.wait(WAIT)
    assert system.shutdown(timeout=WAIT)
    thread.join(WAIT)
    assert asked.closed
    assert read.closed
    assert [type(e) for e in outcome] == [InboxClosed]
    with pytest.raises(SystemStopped):
        future.get(timeout=WAIT)
    assert dead_letter_count(system, DeadLetterReason.SHUTDOWN) == 1


def test_shutdown_fails_an_agent_waiting_on_an_unread_question_at_once():
    system = ActorSystem("inboxes")
    inbox = system.inbox("alice", roles=("human",))
    system.spawn(Planner, name="planner")
    decision = system.ask_future("planner", Task(title="deploy"), timeout=WAIT)
    wait_until(lambda: len(inbox) == 1, "the question is in the inbox")
    started = time.monotonic()
    assert system.shutdown(timeout=WAIT, drain=0)
    assert time.monotonic() - started < WAIT / 2  # not the planner's ask timeout
    assert inbox.closed
    assert decision.done()


# -- bounds --------------------------------------------------------------------------------------


def test_a_full_inbox_with_fail_refuses_the_sender_and_dead_letters_it(system):
    inbox = system.inbox("alice", capacity=2, overflow=Overflow.FAIL)
    system.tell("alice", Note(text="1"))
    system.tell("alice", Note(text="2"))
    with pytest.raises(MailboxFull) as caught:
        system.tell("alice", Note(text="3"))
    assert caught.value.agent == "alice"
    assert caught.value.capacity == 2
    assert dead_letter_count(system, DeadLetterReason.MAILBOX_FULL) == 1
    assert [e.body.text for e in inbox.peek()] == ["1", "2"]
    assert inbox.total_received == 2


def test_a_full_inbox_with_drop_oldest_makes_room_for_the_newest(system):
    inbox = system.inbox("alice", capacity=2, overflow=Overflow.DROP_OLDEST)
    for n in range(1, 4):
        assert system.tell("alice", Note(text=str(n))) == 1
    assert [e.body.text for e in inbox.drain()] == ["2", "3"]
    [letter] = system.dead_letters()
    assert letter.reason is DeadLetterReason.MAILBOX_FULL
    assert letter.envelope.body == Note(text="1")
    assert inbox.total_received == 3


def test_a_sender_blocked_on_a_full_inbox_goes_on_once_a_reader_takes_one(system):
    inbox = system.inbox("alice", capacity=1, block_timeout=WAIT)
    system.tell("alice", Note(text="1"))
    told: list[int] = []
    sender = threading.Thread(
        target=lambda: told.append(system.tell("alice", Note(text="2"))), name="test-sender"
    )
    sender.start()
    assert inbox.get(timeout=WAIT).body == Note(text="1")
    sender.join(WAIT)
    assert told == [1]
    assert inbox.get(timeout=WAIT).body == Note(text="2")


# -- asyncio -------------------------------------------------------------------------------------


def test_get_async_suspends_only_the_awaiting_task(system):
    inbox = system.inbox("alice")

    async def scenario() -> tuple[int, Envelope]:
        ticks = 0
        getting = asyncio.create_task(inbox.get_async(timeout=WAIT))

        async def ticker() -> None:
            nonlocal ticks
            while not getting.done():
                ticks += 1
                if ticks == 20:  # send only once the loop has proven it is free
                    threading.Thread(
                        target=system.tell, args=("alice", Note(text="async")), name="test-sender"
                    ).start()
                await asyncio.sleep(0.005)

        await asyncio.gather(ticker(), getting)
        return ticks, getting.result()

    ticks, envelope = asyncio.run(scenario())
    assert envelope.body == Note(text="async")
    assert ticks >= 20


def test_get_async_returns_at_once_when_something_is_pending(system):
    inbox = system.inbox("alice")
    system.tell("alice", Note(text="ready"))
    envelope = asyncio.run(inbox.get_async(timeout=WAIT))
    assert envelope.body == Note(text="ready")


def test_get_async_raises_inbox_empty_after_the_timeout(system):
    inbox = system.inbox("alice")
    with pytest.raises(InboxEmpty):
        asyncio.run(inbox.get_async(timeout=0.05))
    system.tell("alice", Note(text="later"))  # the abandoned waiter is not woken (nor broken)
    assert len(inbox) == 1


def test_get_async_wakes_with_inbox_closed_when_the_inbox_closes(system):
    inbox = system.inbox("alice")

    async def scenario() -> None:
        getting = asyncio.create_task(inbox.get_async(timeout=WAIT))
        await asyncio.sleep(0)  # let it register its wake-up
        threading.Thread(target=inbox.close, name="test-closer").start()
        await getting

    with pytest.raises(InboxClosed):
        asyncio.run(scenario())


def test_a_cancelled_get_async_takes_nothing(system):
    inbox = system.inbox("alice")

    async def scenario() -> None:
        getting = asyncio.create_task(inbox.get_async(timeout=WAIT))
        await asyncio.sleep(0)
        getting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await getting

    asyncio.run(scenario())
    system.tell("alice", Note(text="kept"))
    assert [e.body.text for e in inbox.peek()] == ["kept"]


# -- registration --------------------------------------------------------------------------------


def test_inbox_names_and_roles_are_validated_like_agents(system):
    system.spawn(Recorder, name="taken")
    with pytest.raises(DuplicateName):
        system.inbox("taken")
    system.inbox("alice")
    with pytest.raises(DuplicateName):
        system.inbox("alice")
    with pytest.raises(InvalidAddress):
        system.inbox("Not A Name")
    with pytest.raises(InvalidAddress):
        system.inbox("bob", roles=("Bad Role",))
    with pytest.raises(InvalidAddress):
        system.inbox("bob", roles="human")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfig):
        system.inbox("bob", capacity=0)


def test_a_shut_down_system_opens_no_inbox():
    system = ActorSystem("inboxes")
    system.shutdown(timeout=WAIT)
    with pytest.raises(SystemStopped):
        system.inbox("alice")


def test_an_inbox_is_not_an_agent_for_agents_ref_metrics_and_tree(system):
    system.spawn(Recorder, name="worker")
    inbox = system.inbox("alice", roles=("human",))
    system.tell("alice", Note(text="x"))
    assert [ref.name for ref in system.agents()] == ["worker"]
    with pytest.raises(UnknownAddress):
        system.ref("alice")
    metrics = system.metrics()
    assert set(metrics.agents) == {"worker"}
    assert metrics.system.live_agents == 1
    assert "alice" not in str(system.tree())
    assert repr(inbox) == "<Inbox 'alice' 1 pending>"
    assert inbox.roles == frozenset({"human"})


def test_idle_runs_do_not_wait_for_a_reader_to_empty_an_inbox(system):
    system.inbox("alice")
    system.tell("alice", Note(text="unread"))
    assert system.run_until(idle=0.05, max_runtime=WAIT).reason is StopReason.IDLE
