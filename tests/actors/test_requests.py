"""Deferred replies (self.defer) and request handles (Request: status, cancel, cooperation)."""

from __future__ import annotations

import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    AskTimeout,
    Cancelled,
    DeadLetterReason,
    Message,
    ReplyToken,
    Request,
    RequestStatus,
    handler,
)
from tests.helpers import WAIT, dead_letter_counts, park
from tests.messages import Parkable, Ping


class Question(Message):
    text: str


class Answer(Message):
    text: str


class Release(Message):
    text: str


class Deferring(AgentActor):
    """Defers every Question; a later Release answers the oldest one."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[ReplyToken] = []

    @handler
    def on_question(self, message: Question) -> str:
        self.open.append(self.defer())
        return "ignored: the reply is deferred"

    @handler
    def on_release(self, message: Release) -> bool:
        return self.open.pop(0).reply(Answer(text=message.text))

    @handler
    def on_ping(self, message: Ping) -> None:
        return None


class Handing(AgentActor):
    """Defers every Question and hands the token to a plain thread through a list."""

    def __init__(self, tokens: list[ReplyToken], ready: threading.Event) -> None:
        super().__init__()
        self.tokens = tokens
        self.ready = ready

    @handler
    def on_question(self, message: Question) -> None:
        self.tokens.append(self.defer())
        self.ready.set()


class Long(Parkable):
    """Works in steps until it is cancelled; tells how far it got."""

    def __init__(self, steps: threading.Semaphore, go: threading.Event) -> None:
        super().__init__()
        self.steps = steps
        self.go = go

    @handler
    def on_question(self, message: Question) -> str:
        for _ in range(10_000):
            self.steps.release()
            assert self.go.wait(WAIT)
            self.go.clear()
            self.check_cancelled()
        return "finished"

    @handler
    def on_ping(self, message: Ping) -> int:
        return 1


def test_a_deferred_reply_is_answered_from_a_later_message(system: ActorSystem):
    ref = system.spawn(Deferring, name="d")
    future = ref.ask_future(Question(text="q"), timeout=WAIT)
    assert ref.ask(Ping(), timeout=WAIT) is None  # the handler returned; the ask is still open
    assert not future.done()
    assert ref.ask(Release(text="answer"), timeout=WAIT) is True
    assert future.get(timeout=WAIT) == Answer(text="answer")


def test_a_deferred_reply_is_answered_from_another_thread(system: ActorSystem):
    tokens: list[ReplyToken] = []
    ready = threading.Event()
    ref = system.spawn(Handing, tokens, ready, name="h")
    future = ref.ask_future(Question(text="q"), timeout=WAIT)
    assert ready.wait(WAIT)
    answered: list[bool] = []
    worker = threading.Thread(target=lambda: answered.append(tokens[0].reply(Answer(text="x"))))
    worker.start()
    worker.join(WAIT)
    assert answered == [True]
    assert future.get(timeout=WAIT) == Answer(text="x")
    assert tokens[0].answered
    assert tokens[0].reply(Answer(text="again")) is False, "a token answers once"


def test_a_deferred_failure_fails_the_askers_future(system: ActorSystem):
    tokens: list[ReplyToken] = []
    ready = threading.Event()
    ref = system.spawn(Handing, tokens, ready, name="h")
    future = ref.ask_future(Question(text="q"), timeout=WAIT)
    assert ready.wait(WAIT)
    assert tokens[0].fail(ValueError("no"))
    with pytest.raises(ValueError, match="no"):
        future.get(timeout=WAIT)


def test_a_late_deferred_reply_is_dropped_and_counted(system: ActorSystem):
    tokens: list[ReplyToken] = []
    ready = threading.Event()
    ref = system.spawn(Handing, tokens, ready, name="h")
    future = ref.ask_future(Question(text="q"), timeout=0.05)
    assert ready.wait(WAIT)
    with pytest.raises(AskTimeout):
        future.get(timeout=WAIT)
    assert tokens[0].reply(Answer(text="too late")) is False
    assert system.metrics().system.late_replies == 1


def test_a_request_goes_through_pending_running_and_done(system: ActorSystem):
    steps, go = threading.Semaphore(0), threading.Event()
    ref = system.spawn(Long, steps, go, name="long")
    release = park(ref, "long")
    request = ref.request(Question(text="q"), timeout=WAIT)
    assert isinstance(request, Request)
    assert request.status() is RequestStatus.PENDING
    assert request.envelope_id is not None
    release.set()
    assert steps.acquire(timeout=WAIT)
    assert request.status() is RequestStatus.RUNNING
    assert not request.done()
    go.set()
    assert steps.acquire(timeout=WAIT)
    request.cancel()  # not answered yet: cancelled (the handler sees it at its next check)
    go.set()
    assert request.status() is RequestStatus.CANCELLED
    with pytest.raises(Cancelled):
        request.result(timeout=WAIT)
    assert ref.ask(Ping(), timeout=WAIT) == 1, "the agent went on: cancelling is no failure"
    assert system.metrics().agents["long"].cancelled == 1
    assert ref.info().restarts == 0


def test_request_statuses_done_failed_and_expired(system: ActorSystem):
    ref = system.spawn(Deferring, name="d")
    done = system.request("d", Ping(), timeout=WAIT)
    assert done.result(timeout=WAIT) is None
    assert done.status() is RequestStatus.DONE
    expired = ref.request(Question(text="never answered"), timeout=0.05)
    with pytest.raises(AskTimeout):
        expired.result(timeout=WAIT)
    assert expired.status() is RequestStatus.EXPIRED
    fresh = system.spawn(Deferring, name="fresh")
    failed = fresh.request(Release(text="nothing open"), timeout=WAIT)  # pops an empty list
    with pytest.raises(AgentFailed):
        failed.result(timeout=WAIT)
    assert failed.status() is RequestStatus.FAILED


def test_a_cancelled_request_that_has_not_started_is_skipped(system: ActorSystem):
    steps, go = threading.Semaphore(0), threading.Event()
    ref = system.spawn(Long, steps, go, name="long")
    release = park(ref, "long")
    request = ref.request(Question(text="q"))
    assert request.cancel() is True
    assert request.cancel() is False, "already cancelled"
    release.set()
    assert ref.ask(Ping(), timeout=WAIT) == 1
    assert not steps.acquire(timeout=0), "the handler never started"
    assert dead_letter_counts(system)[DeadLetterReason.CANCELLED] == 1
    assert request.status() is RequestStatus.CANCELLED


def test_a_request_can_be_awaited():
    import asyncio

    with ActorSystem("awaited") as system:
        system.spawn(Deferring, name="d")

        async def main() -> object:
            return await system.request("d", Ping(), timeout=WAIT)

        assert asyncio.run(main()) is None


def test_a_running_request_that_expires_is_stopped_like_a_cancelled_one(system: ActorSystem):
    steps, go = threading.Semaphore(0), threading.Event()
    ref = system.spawn(Long, steps, go, name="long")
    request = ref.request(Question(text="q"), timeout=0.1)
    assert steps.acquire(timeout=WAIT)  # it runs
    with pytest.raises(AskTimeout):
        request.result(timeout=WAIT)
    go.set()  # the handler's next check sees that nobody waits any more
    assert ref.ask(Ping(), timeout=WAIT) == 1
    assert request.status() is RequestStatus.EXPIRED
    assert system.metrics().agents["long"].cancelled == 1
    assert ref.info().restarts == 0
