"""A peer node for the NATS tests: ``python -m tests.nats.peer '<json settings>'``.

Settings: ``servers``, ``cluster``, ``ttl``, ``ack_wait``, and ``agents``: a list of
``{"name", "roles", "durable", "report_to"}``. It builds a system with those agents, prints
``ready <node id>`` and waits for a line on stdin: ``quit`` shuts the system down cleanly and
exits 0. The agents handle `Job` (reply `Done`, report it to ``report_to``, crash on request)
`Hello` (report `Heard`) and `Tally` (answer `Handled`: the jobs handled).
"""

from __future__ import annotations

import json
import sys
import time

from actors import ActorSystem, AgentActor, handler
from actors.nats import NatsTransport
from tests.nats.peer_types import Done, Handled, Heard, Hello, Job, Tally


class Worker(AgentActor):
    """Does jobs and reports them."""

    def __init__(self, node: str, report_to: str | None) -> None:
        super().__init__()
        self.node = node
        self.report_to = report_to
        self.jobs: list[int] = []

    @handler
    def on_job(self, msg: Job) -> Done:
        if msg.crash:
            raise RuntimeError(f"job {msg.n} asked to crash")
        if msg.work:
            time.sleep(msg.work)  # simulated work, not synchronisation
        self.jobs.append(msg.n)
        envelope = self.context.envelope
        done = Done(
            n=msg.n, agent=self.name, node=self.node,
            redelivered=envelope.redelivered, deliveries=envelope.deliveries,
        )  # fmt: skip
        target = msg.report_to or self.report_to
        if target is not None:
            self.tell(target, done)
        return done

    @handler
    def on_tally(self, msg: Tally) -> Handled:
        return Handled(jobs=self.jobs)

    @handler
    def on_hello(self, msg: Hello) -> None:
        if self.report_to is not None:
            self.tell(self.report_to, Heard(agent=self.name, text=msg.text))


def main() -> int:
    settings = json.loads(sys.argv[1])
    transport = NatsTransport(
        settings["servers"],
        cluster=settings["cluster"],
        ttl=settings.get("ttl", 2.0),
        ack_wait=settings.get("ack_wait", 30.0),
    )
    system = ActorSystem(settings.get("system", "peer"), transport=transport)
    node = system.nodes()[0].node
    for agent in settings.get("agents", []):
        system.spawn(
            Worker, node, agent.get("report_to"),
            name=agent["name"], roles=agent.get("roles", []),
            durable=agent.get("durable", False),
        )  # fmt: skip
    print(f"ready {node}", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    clean = system.shutdown(20.0)
    print("stopped" if clean else "unclean", flush=True)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
