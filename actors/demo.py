"""`regiment demo`: a small team that exercises every addressing mode.

An orchestrator hands tasks to whichever coder is free (role addressing, round-robin), each
coder sends its patch back (``reply_to``), the orchestrator asks the reviewer about every
patch (direct ask from inside a handler), and finally broadcasts a stand-up that every agent
answers. One coder crashes on a flaky task; its supervisor restarts it and the task is
redelivered (``retry_failed=1``). A message for a role nobody holds becomes a dead letter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from actors._dispatch import handler
from actors.agent import AgentActor
from actors.events import AgentRestarted, DeadLetter
from actors.messages import Message
from actors.run import StopReason
from actors.system import ActorSystem
from supervision.spec import ChildSpec, SupervisorSpec

__all__ = ["run_demo"]

Printer = Callable[[str], None]


class Kickoff(Message):
    """Start the run with these task titles."""

    tasks: list[str]


class Task(Message):
    """One piece of work for a coder."""

    title: str


class Patch(Message):
    """A coder's answer to a task."""

    task: str
    author: str
    diff: str


class ReviewRequest(Message):
    """Ask the reviewer about one patch."""

    patch: Patch


class Verdict(Message):
    """The reviewer's answer."""

    approved: bool
    comment: str


class Standup(Message):
    """Broadcast: everyone reports."""


class Status(Message):
    """An answer to the stand-up."""

    who: str
    summary: str


class _Team:
    """What the demo's agents share: the printer and the finish line."""

    def __init__(self, out: Printer) -> None:
        self.out = out
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.flaky_failures = 0

    def say(self, who: str, text: str) -> None:
        with self.lock:
            self.out(f"  [{who:>12}] {text}")


class Orchestrator(AgentActor):
    """Hands out tasks, collects patches, has them reviewed, then calls a stand-up."""

    roles = ("lead",)

    def __init__(self, team: _Team) -> None:
        super().__init__()
        self.team = team
        self.expected = 0
        self.patches: list[Patch] = []
        self.statuses: list[str] = []

    @handler
    def on_kickoff(self, msg: Kickoff) -> int:
        self.expected = len(msg.tasks)
        for title in msg.tasks:
            self.team.say(self.name, f"-> role:coder   Task {title!r}")
            self.tell("role:coder", Task(title=title), reply_to=self.name)
        self.team.say(self.name, "-> role:designer Task 'logo' (nobody holds that role)")
        self.tell("role:designer", Task(title="logo"))
        return self.expected

    @handler
    def on_patch(self, patch: Patch) -> None:
        self.team.say(self.name, f"<- {patch.author:<12} Patch for {patch.task!r}")
        self.patches.append(patch)
        if len(self.patches) < self.expected:
            return
        for done in self.patches:
            verdict: Verdict = self.ask("reviewer", ReviewRequest(patch=done), timeout=5)
            mark = "approved" if verdict.approved else "changes requested"
            self.team.say(self.name, f"<- reviewer     {mark}: {done.task!r} ({verdict.comment})")
        self.team.say(self.name, "-> *            Standup (broadcast)")
        self.broadcast(Standup())

    @handler
    def on_status(self, status: Status) -> None:
        self.team.say(self.name, f"<- {status.who:<12} Status: {status.summary}")
        self.statuses.append(status.who)
        if len(self.statuses) == 3:
            self.team.done.set()


class Coder(AgentActor):
    """Turns tasks into patches; crashes the first time it meets a flaky task."""

    roles = ("coder",)

    def __init__(self, team: _Team) -> None:
        super().__init__()
        self.team = team
        self.done = 0

    @handler
    def on_task(self, task: Task) -> Patch:
        sender = self.context.sender
        self.team.say(self.name, f"<- {sender:<12} Task {task.title!r} (via role:coder)")
        if task.title.startswith("flaky") and self.team.flaky_failures == 0:
            self.team.flaky_failures += 1
            self.team.say(self.name, "   crashes on the flaky task!")
            raise RuntimeError("flaky test environment")
        self.done += 1
        return Patch(task=task.title, author=self.name, diff=f"+ fix for {task.title}")

    @handler
    def on_standup(self, msg: Standup) -> None:
        self.tell(self.context.sender or "orchestrator", Status(who=self.name, summary="coding"))


class Reviewer(AgentActor):
    """Approves patches whose diff is not empty."""

    roles = ("reviewer",)

    def __init__(self, team: _Team) -> None:
        super().__init__()
        self.team = team

    @handler
    def on_review(self, request: ReviewRequest) -> Verdict:
        self.team.say(self.name, f"<- orchestrator ask: review {request.patch.task!r}")
        return Verdict(approved=bool(request.patch.diff), comment="looks good")

    @handler
    def on_standup(self, msg: Standup) -> None:
        self.tell(self.context.sender or "orchestrator", Status(who=self.name, summary="reviewing"))


def run_demo(out: Printer = print) -> int:
    """Run the demo team, print its trace through ``out``, and return an exit status."""
    team = _Team(out)
    out("regiment demo: an orchestrator, two coders (role 'coder') and a reviewer\n")
    started = time.perf_counter()
    with ActorSystem("demo") as system:
        system.events.subscribe(
            lambda e: team.say("supervisor", f"restarted {e.name} (restart #{e.restarts})"),
            AgentRestarted,
        )
        system.events.subscribe(
            lambda e: team.say("dead letter", f"{e.envelope.to} ({e.reason.value})"), DeadLetter
        )
        system.start_tree(
            SupervisorSpec(
                "team",
                children=[
                    ChildSpec(Reviewer, team, name="reviewer"),
                    ChildSpec(Coder, team, name="coder-1"),
                    ChildSpec(Coder, team, name="coder-2", retry_failed=1),
                    ChildSpec(Orchestrator, team, name="orchestrator"),
                ],
            )
        )
        tasks = ["parse config", "flaky: retry logic", "write docs", "add metrics"]
        count = system.ask("orchestrator", Kickoff(tasks=tasks), timeout=5)
        team.say("main", f"orchestrator accepted {count} tasks")
        report = system.run_until(team.done.is_set, max_runtime=10)
        out("\nsupervision tree at the end:")
        out(system.tree().render())
        letters = sum(system.dead_letter_counts().values())
        ok = report.reason is StopReason.COMPLETED and team.flaky_failures == 1
        out(
            f"\n{report.messages} messages handled during the run, "
            f"{time.perf_counter() - started:.3f}s in all; "
            f"run ended: {report.reason.value}; dead letters: {letters}"
        )
    out("shut down cleanly" if ok else "demo did NOT complete")
    return 0 if ok else 1
