"""gather: bounded fan-out to a role, outcomes in order and as completed, partial, next, cancel."""

from __future__ import annotations

import asyncio
import threading

import pytest

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    AskTimeout,
    Cancelled,
    DeadLetterReason,
    Gather,
    GatherDone,
    InvalidConfig,
    Message,
    Outcome,
    RequestStatus,
    handler,
)
from tests.helpers import WAIT, Journal, dead_letter_counts

WORKERS = 3


class Job(Message):
    n: int
    hold: bool = False  # wait on the test's gate before answering
    fail: bool = False


class Meter:
    """Counts handlers running at once, across every worker (the bound, inside the agents)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.started: list[int] = []
        self.gate = threading.Event()
        self.entered = threading.Semaphore(0)

    def enter(self, n: int) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.started.append(n)
        self.entered.release()

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class Worker(AgentActor):
    def __init__(self, meter: Meter) -> None:
        super().__init__()
        self.meter = meter

    @handler
    def on_job(self, job: Job) -> int:
        self.meter.enter(job.n)
        try:
            if job.hold:
                while not self.meter.gate.wait(0.005):  # a long job that checks for cancel
                    self.check_cancelled()
            if job.fail:
                raise ValueError(job.n)
            return job.n * 10
        finally:
            self.meter.leave()


def workers(system: ActorSystem, meter: Meter) -> None:
    for i in range(WORKERS):
        system.spawn(Worker, meter, name=f"w{i}", roles=("worker",))


def test_more_messages_than_the_bound_never_exceed_it_and_come_back_in_order(
    system: ActorSystem,
):
    meter = Meter()
    meter.gate.set()
    workers(system, meter)
    gathering = system.gather(
        [Job(n=n) for n in range(200)], "role:worker", max_in_flight=2, timeout=WAIT
    )
    outcomes = gathering.results(timeout=WAIT)
    assert [o.value for o in outcomes] == [n * 10 for n in range(200)]
    assert all(isinstance(o, Outcome) and o.ok and o.error is None for o in outcomes)
    assert [o.index for o in outcomes] == list(range(200))
    assert 1 <= meter.peak <= 2
    assert gathering.done()
    assert gathering.in_flight == 0
    requests = gathering.requests()
    assert all(r is not None and r.status() is RequestStatus.DONE for r in requests)
    assert [r.result(timeout=0) for r in requests if r is not None] == [n * 10 for n in range(200)]


def test_the_bound_holds_inside_the_agents_while_jobs_are_held(system: ActorSystem):
    meter = Meter()
    workers(system, meter)
    gathering = system.gather(
        [Job(n=n, hold=True) for n in range(10)], "role:worker", max_in_flight=2
    )
    assert meter.entered.acquire(timeout=WAIT)
    assert meter.entered.acquire(timeout=WAIT)
    assert not meter.entered.acquire(timeout=0.05), "a third started while two were held"
    assert gathering.in_flight == 2
    meter.gate.set()
    assert len(gathering.results(timeout=WAIT)) == 10
    assert meter.peak == 2


def test_as_completed_and_next_hand_out_each_outcome_once(system: ActorSystem):
    meter = Meter()
    meter.gate.set()
    workers(system, meter)
    gathering = system.gather([Job(n=n) for n in range(20)], "role:worker", max_in_flight=4)
    first = gathering.next(timeout=WAIT)
    assert first is not None
    rest = list(gathering.as_completed(timeout=WAIT))
    assert sorted(o.index for o in [first, *rest]) == list(range(20))
    assert gathering.next(timeout=WAIT) is None


def test_per_item_errors_and_timeouts_are_collected_never_raised(system: ActorSystem):
    meter = Meter()
    workers(system, meter)
    jobs = [Job(n=0), Job(n=1, fail=True), Job(n=2, hold=True), Job(n=3)]
    gathering = system.gather(jobs, "role:worker", max_in_flight=4, timeout=0.2)
    outcomes = gathering.results(timeout=WAIT)
    meter.gate.set()
    assert [o.status for o in outcomes] == [
        RequestStatus.DONE,
        RequestStatus.FAILED,
        RequestStatus.EXPIRED,
        RequestStatus.DONE,
    ]
    assert isinstance(outcomes[1].error, AgentFailed)
    assert isinstance(outcomes[2].error, AskTimeout)
    assert not outcomes[2].ok


def test_partial_results_while_some_are_still_running(system: ActorSystem):
    meter = Meter()
    workers(system, meter)
    jobs = [Job(n=0), Job(n=1, hold=True), Job(n=2)]
    gathering = system.gather(jobs, "role:worker", max_in_flight=3)
    journal = Journal()
    gathering.on_complete(journal.add)
    seen = {gathering.next(timeout=WAIT).index, gathering.next(timeout=WAIT).index}
    assert seen == {0, 2}
    assert [o.index for o in gathering.partial()] == [0, 2]
    assert not gathering.done()
    with pytest.raises(AskTimeout):
        gathering.results(timeout=0.05)
    meter.gate.set()
    journal.wait_len(1)
    assert [o.index for o in gathering.partial()] == [0, 1, 2]


def test_cancel_never_sends_the_unsent_skips_the_queued_and_stops_the_running(
    system: ActorSystem,
):
    meter = Meter()
    system.spawn(Worker, meter, name="only", roles=("worker",))
    jobs = [Job(n=n, hold=True) for n in range(6)]
    gathering = system.gather(jobs, "role:worker", max_in_flight=3)
    assert meter.entered.acquire(timeout=WAIT)  # job 0 runs; 1 and 2 are queued; 3-5 unsent
    gathering.cancel()
    outcomes = gathering.results(timeout=WAIT)
    assert [o.status for o in outcomes] == [RequestStatus.CANCELLED] * 6
    assert all(isinstance(o.error, Cancelled) for o in outcomes)
    assert system.ask("only", Job(n=99), timeout=WAIT) == 990, "the worker carries on"
    assert meter.started == [0, 99], "the queued ones were skipped, the unsent never sent"
    assert dead_letter_counts(system)[DeadLetterReason.CANCELLED] == 2
    assert system.metrics().agents["only"].cancelled == 3  # 1 stopped running + 2 skipped
    assert system.metrics().system.sent == 3 + 1


def test_a_deadline_expires_what_was_not_sent(system: ActorSystem):
    meter = Meter()
    system.spawn(Worker, meter, name="only", roles=("worker",))
    jobs = [Job(n=0, hold=True), Job(n=1), Job(n=2)]
    gathering = system.gather(jobs, "role:worker", max_in_flight=1, deadline=0.2)
    outcomes = gathering.results(timeout=WAIT)
    assert [o.status for o in outcomes] == [RequestStatus.EXPIRED] * 3
    meter.gate.set()
    assert system.ask("only", Job(n=5), timeout=WAIT) == 50
    assert meter.started == [0, 5]


class Orchestrator(AgentActor):
    def __init__(self, done: Journal) -> None:
        super().__init__()
        self.done = done
        self.pending: Gather | None = None

    @handler
    def on_job(self, job: Job) -> str:
        self.pending = self.gather([Job(n=n) for n in range(job.n)], "role:worker")
        return "started"  # returns at once: the gather runs on

    @handler
    def on_done(self, message: GatherDone) -> None:
        assert message.gather is self.pending
        self.done.add([o.value for o in message.gather.results(timeout=0)])


def test_a_gather_inside_an_agent_delivers_gather_done_without_blocking_it(
    system: ActorSystem,
):
    meter = Meter()
    workers(system, meter)
    done = Journal()
    orchestrator = system.spawn(Orchestrator, done, name="orch")
    assert orchestrator.ask(Job(n=12), timeout=WAIT) == "started"
    (values,) = done.wait_len(1)
    assert values == [n * 10 for n in range(12)]


def test_many_gather_async_calls_in_one_loop_while_another_task_ticks(system: ActorSystem):
    meter = Meter()
    meter.gate.set()
    workers(system, meter)

    async def main() -> tuple[list[list[Outcome]], int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        results = await asyncio.gather(
            *(
                system.gather_async([Job(n=n) for n in range(20)], "role:worker", wait=WAIT)
                for _ in range(10)
            )
        )
        stop.set()
        await task
        return results, ticks

    results, ticks = asyncio.run(main())
    assert len(results) == 10
    assert all([o.value for o in r] == [n * 10 for n in range(20)] for r in results)
    assert ticks > 10, "the loop kept running while the gathers were in flight"


def test_bad_settings_are_refused(system: ActorSystem):
    with pytest.raises(InvalidConfig):
        system.gather([Job(n=1)], "role:worker", max_in_flight=0)
    with pytest.raises(InvalidConfig):
        system.gather([Job(n=1)], "role:worker", timeout=-1)


def test_an_unknown_address_fails_each_item_without_raising(system: ActorSystem):
    outcomes = system.gather([Job(n=1), Job(n=2)], "role:nobody").results(timeout=WAIT)
    assert [o.status for o in outcomes] == [RequestStatus.FAILED] * 2


def test_an_empty_gather_is_done_at_once(system: ActorSystem):
    assert system.gather([], "role:worker").results(timeout=0) == []
