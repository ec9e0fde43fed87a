"""The runtime orchestrator seed: priorities, loop guards, tool policies and metrics.

1. Priorities: an on-call triage agent with a priority mailbox is busy while four incidents
   arrive (low, normal, high, critical); it then handles them most urgent first. `run_until`
   waits for them (`StopReason.COMPLETED`).
2. Tool policies: for each incident the triage agent reads the logs (allowed: READ_ONLY), and
   for the critical one tries to restart the service: that needs FULL, which its role lacks,
   so the call is denied and it asks the SRE lead, who may.
3. Loop guards: two agents bat a ball back and forth forever. One has a per-agent guard
   (`ChildSpec(max_messages=10)`) and stops for good after 10 messages; another endless pair
   has none, and `run_until(max_messages=200, max_runtime=10)` cuts the wait short with a
   `RunReport` saying why (`StopReason.MAX_MESSAGES`) before they are stopped by hand.
4. Metrics: once the system is idle (`StopReason.IDLE`), `system.metrics()`, system-wide and
   per agent.
"""

from __future__ import annotations

import threading

from actors import (
    ActorSystem,
    AgentActor,
    AgentStopped,
    Grant,
    Mailbox,
    Message,
    Permission,
    Priority,
    StopReason,
    ToolDenied,
    ToolPolicy,
    handler,
    tool,
)
from supervision import ChildSpec


@tool(name="logs.read", level=Permission.READ_ONLY)
def read_logs(service: str, lines: int = 20) -> str:
    """Read the last lines of a service's log (pretend)."""
    return f"{lines} lines of {service} logs"


@tool(name="service.restart", level=Permission.FULL)
def restart_service(service: str) -> str:
    """Restart a service (pretend)."""
    return f"{service} restarted"


class Incident(Message):
    service: str
    title: str


class Hold(Message):
    """Keeps the triage agent busy until the gate opens (so incidents queue up)."""


class Log(Message):
    """Asks the triage agent what it did, in order."""


class RestartRequest(Message):
    service: str


class Ball(Message):
    hits: int


class Serve(Message):
    to: str


class Triage(AgentActor):
    """Handles incidents, most urgent first (its mailbox is a priority mailbox)."""

    roles = ("oncall",)

    def __init__(
        self, holding: threading.Event, gate: threading.Event, all_handled: threading.Event
    ) -> None:
        super().__init__()
        self.holding = holding
        self.gate = gate
        self.all_handled = all_handled
        self.log_lines: list[str] = []

    @handler
    def on_hold(self, msg: Hold) -> None:
        self.holding.set()
        self.gate.wait(5.0)  # bounded: the example opens it as soon as the incidents are queued

    @handler
    def on_incident(self, incident: Incident) -> None:
        envelope = self.context.envelope
        assert envelope is not None  # always set inside a handler
        priority = envelope.priority.name
        logs = self.use_tool("logs.read", service=incident.service)
        line = f"{priority:<8} {incident.title}: read {logs}"
        if priority == "CRITICAL":
            try:
                self.use_tool("service.restart", service=incident.service)
            except ToolDenied as denied:
                line += f"; restart denied ({denied.detail})"
                done = self.ask("sre-lead", RestartRequest(service=incident.service), timeout=5)
                line += f"; the SRE lead: {done}"
        self.log_lines.append(line)
        if len(self.log_lines) == 4:
            self.all_handled.set()

    @handler
    def on_log(self, msg: Log) -> list[str]:
        return self.log_lines


class SreLead(AgentActor):
    """May do what on-call may not."""

    @handler
    def on_restart(self, request: RestartRequest) -> str:
        result: str = self.use_tool("service.restart", service=request.service)
        return result


class Player(AgentActor):
    """Bats every ball back to whoever sent it: an endless conversation."""

    @handler
    def on_serve(self, serve: Serve) -> None:
        self.tell(serve.to, Ball(hits=0))

    @handler
    def on_ball(self, ball: Ball) -> None:
        sender = self.context.sender
        assert sender is not None  # only players send balls
        self.tell(sender, Ball(hits=ball.hits + 1))


def priorities_and_tools(system: ActorSystem) -> None:
    print("== priorities and tool policies")
    holding, gate, all_handled = threading.Event(), threading.Event(), threading.Event()
    urgent_first = Mailbox(priority=True)
    system.spawn(Triage, holding, gate, all_handled, name="triage", mailbox=urgent_first)
    system.spawn(SreLead, name="sre-lead")
    system.tell("triage", Hold())
    assert holding.wait(5.0), "triage never got busy"
    for priority, title in [
        (Priority.LOW, "disk 70% full"),
        (Priority.NORMAL, "slow dashboard"),
        (Priority.HIGH, "error rate up"),
        (Priority.CRITICAL, "checkout is down"),
    ]:
        print(f"  queued {priority.name:<8} {title}")
        system.tell("triage", Incident(service="shop", title=title), priority=priority)
    gate.set()
    report = system.run_until(all_handled.is_set, max_runtime=10)
    print(f"  run_until -> {report.reason.value}: all four incidents handled")
    assert report == StopReason.COMPLETED
    lines = system.ask("triage", Log(), timeout=5)
    print("  triage handled, in this order:")
    for line in lines:
        print(f"    {line}")
    assert [line.split()[0] for line in lines] == ["CRITICAL", "HIGH", "NORMAL", "LOW"]


def loop_guards(system: ActorSystem) -> None:
    print("== loop guards")
    ping_stopped = threading.Event()
    reasons: list[str] = []

    def on_stopped(event: AgentStopped) -> None:
        if event.name == "ping":
            reasons.append(event.reason.value)
            ping_stopped.set()

    system.events.subscribe(on_stopped, AgentStopped, inline=True)
    system.spawn(ChildSpec(Player, name="ping", max_messages=10))
    system.spawn(Player, name="pong")
    system.tell("ping", Serve(to="pong"))
    assert ping_stopped.wait(5.0), "the guard never stopped ping"
    print(f"  ping stopped for good after 10 messages (reason: {reasons[0]})")

    system.spawn(Player, name="echo-a")
    system.spawn(Player, name="echo-b")
    system.tell("echo-a", Serve(to="echo-b"))
    report = system.run_until(max_messages=200, max_runtime=10)
    print(f"  run_until -> {report.reason.value}: the unguarded pair handled 200 messages")
    assert report == StopReason.MAX_MESSAGES
    assert report.messages >= 200
    stopped = system.ref("echo-a").stop(5) and system.ref("echo-b").stop(5)
    print(f"  the unguarded pair stopped by hand: {stopped}")


def metrics(system: ActorSystem) -> None:
    print("== metrics")
    settled = system.run_until(idle=0.05, max_runtime=5)  # every handler done, queues empty
    print(f"  run_until -> {settled.reason.value}")
    assert settled == StopReason.IDLE
    snapshot = system.metrics()
    overall = snapshot.system
    print(
        f"  system: sent={overall.sent} handled={overall.handled} "
        f"live agents={overall.live_agents} tool calls={overall.tool_calls}"
    )
    for name in ("triage", "sre-lead", "pong"):
        agent = snapshot.agents[name]
        print(
            f"  {name:<9} handled={agent.handled:<4} high water={agent.mailbox_high_water:<3} "
            f"p50={agent.handling.p50 * 1e6:.0f} us"
        )
    assert overall.tool_calls == {"ok": 5, "denied": 1}


def main() -> None:
    policy = ToolPolicy(
        grants=[
            Grant("role:oncall", "logs.*", Permission.READ_ONLY),
            Grant("role:oncall", "service.*", Permission.READ_WRITE),  # not enough to restart
            Grant("sre-lead", "*", Permission.FULL),
        ]
    )
    tools = [read_logs, restart_service]
    with ActorSystem("runtime", tools=tools, tool_policy=policy) as system:
        priorities_and_tools(system)
        loop_guards(system)
        metrics(system)
    print("runtime orchestration done")


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # this example prints its own story (guards are logged at WARNING otherwise)
    main()
