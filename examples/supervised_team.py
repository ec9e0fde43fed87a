"""A supervision tree: a crash is restarted, queued work survives, and too many crashes
escalate to the root, which stops the system and reports the cause to the application."""

from __future__ import annotations

from actors import ActorSystem, AgentActor, Message, handler
from supervision import ChildSpec, RestartPolicy, Strategy, SupervisorSpec


class Job(Message):
    n: int
    crash: bool = False


class Worker(AgentActor):
    roles = ("worker",)

    def on_start(self) -> None:
        print(f"  {self.name} started (restarts so far: {self.context.restarts})")

    @handler
    def on_job(self, job: Job) -> int:
        if job.crash:
            raise RuntimeError(f"job {job.n} crashed {self.name}")
        return job.n * job.n


def main() -> None:
    failures: list[BaseException] = []
    system = ActorSystem(
        "team", root_policy=RestartPolicy(max_restarts=0), on_fatal=failures.append
    )
    system.start_tree(
        SupervisorSpec(
            "workers",
            [ChildSpec(Worker, name="w1"), ChildSpec(Worker, name="w2")],
            strategy=Strategy.ONE_FOR_ONE,
            policy=RestartPolicy(max_restarts=2, within=60.0),
        )
    )
    print("1. a crash, with work queued behind it:")
    system.tell("w1", Job(n=1, crash=True))
    print("   queued job answered by the new incarnation:", system.ask("w1", Job(n=7), timeout=5))
    print("2. three more crashes exceed 2 restarts within 60 s: escalation")
    for n in range(3):
        system.tell("w1", Job(n=n, crash=True))
    assert system.wait(10), "the system should stop after the escalation reached the root"
    print("   system stopped; failure chain:")
    for error in failures[0].chain:  # type: ignore[attr-defined]
        print("     ", repr(error))


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # this example prints its own story
    main()
