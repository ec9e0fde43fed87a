"""The agent orchestrator seed: request handles over a supervised crew with a restart policy.

A supervisor ("crew") runs two workers under a `RestartPolicy`: at most 2 restarts within 30
seconds, with an exponential backoff between a crash and the restart. The orchestrating code
outside the system holds every piece of work as a `Request` handle (`system.request`) and
follows it: `status()` (pending, running, done, failed, cancelled, expired), `result(timeout)`
and `cancel()`.

1. A long job runs; a job queued behind it is cancelled before it starts (the worker skips
   it), then the long job is cancelled while running (its handler stops cooperatively); the
   next job is answered normally.
2. A request with a short timeout expires; the worker notices and gives up on it.
3. A job crashes its worker twice: each request fails with `AgentFailed`, the supervisor
   restarts the worker after a backoff (within the policy's budget), and the job queued
   meanwhile is answered by the new incarnation. The tree shows the budget used.
"""

from __future__ import annotations

import threading
import time

from actors import (
    ActorSystem,
    AgentActor,
    AgentFailed,
    AgentRestarted,
    AskTimeout,
    Message,
    Request,
    RequestStatus,
    handler,
)
from supervision import Backoff, ChildSpec, RestartPolicy, SupervisorSpec


class Job(Message):
    n: int
    crash: bool = False


class Answer(Message):
    value: int
    worker: str
    incarnation: int  # how many restarts the worker had when it answered


class LongJob(Message):
    label: str


class Worker(AgentActor):
    """Squares numbers; a long job runs until its requester gives up on it."""

    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started

    @handler
    def on_job(self, job: Job) -> Answer:
        if job.crash:
            raise RuntimeError(f"job {job.n} blew up")
        return Answer(value=job.n * job.n, worker=self.name, incarnation=self.context.restarts)

    @handler
    def on_long_job(self, job: LongJob) -> Answer:
        self.started.set()
        for _ in range(1000):  # ten seconds at most, in steps of work
            time.sleep(0.01)  # a step of simulated work (not synchronisation)
            self.check_cancelled()  # raises Cancelled once the request is cancelled or expired
        return Answer(value=-1, worker=self.name, incarnation=self.context.restarts)


def show(label: str, request: Request[Answer]) -> None:
    print(f"  {label:<34} {request.status().value}")


def main() -> None:
    started = threading.Event()
    restarted = threading.Semaphore(0)
    policy = RestartPolicy(
        max_restarts=2, within=30.0, backoff=Backoff(min=0.05, max=1.0, jitter=0.0)
    )
    with ActorSystem("orchestrator") as system:
        system.events.subscribe(lambda e: restarted.release(), AgentRestarted, inline=True)
        system.start_tree(
            SupervisorSpec(
                "crew",
                children=[
                    # restart_on_ask_error: a crash while answering a request restarts the
                    # worker too (by default an ask's error only goes back to the asker).
                    ChildSpec(Worker, started, name="worker-1", restart_on_ask_error=True),
                    ChildSpec(Worker, started, name="worker-2", restart_on_ask_error=True),
                ],
                policy=policy,
            )
        )

        print("1. cancelling requests")
        long = system.request("worker-1", LongJob(label="index the repo"), timeout=10.0)
        assert started.wait(5.0), "the long job never started"
        queued = system.request("worker-1", Job(n=4), timeout=10.0)
        show("long job, once started:", long)
        show("job queued behind it:", queued)
        print(f"  cancel the queued job -> {queued.cancel()}")
        show("queued job:", queued)
        print(f"  cancel the long job -> {long.cancel()}")
        show("long job:", long)
        after = system.request("worker-1", Job(n=5), timeout=10.0)
        answer = after.result(timeout=5.0)
        show(f"next job (answer {answer.value}):", after)
        assert long.status() is RequestStatus.CANCELLED
        assert queued.status() is RequestStatus.CANCELLED

        print("2. a request that expires")
        started.clear()
        slow = system.request("worker-2", LongJob(label="read the internet"), timeout=0.2)
        try:
            slow.result(timeout=5.0)
        except AskTimeout as error:
            print(f"  result() raised AskTimeout: {error}")
        show("slow job:", slow)
        assert slow.status() is RequestStatus.EXPIRED

        print("3. crashes, restarted within the policy (2 restarts in 30 s, backoff 50 ms)")
        for attempt in (1, 2):
            crash = system.request("worker-1", Job(n=13, crash=True), timeout=5.0)
            behind = system.request("worker-1", Job(n=6 + attempt), timeout=5.0)
            try:
                crash.result(timeout=5.0)
            except AgentFailed as error:
                print(f"  crash #{attempt}: result() raised AgentFailed ({error.__cause__!r})")
            show("crashing job:", crash)
            assert crash.status() is RequestStatus.FAILED
            assert restarted.acquire(timeout=5.0), "the worker was not restarted"
            answer = behind.result(timeout=5.0)
            print(
                f"  queued job answered {answer.value} by {answer.worker} "
                f"after restart #{answer.incarnation}"
            )
            assert answer.incarnation == attempt
        print(system.tree())
    print("orchestration done: 2 cancelled, 1 expired, 2 crashes restarted within the policy")


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # this example prints its own story (crashes are logged at ERROR otherwise)
    main()
