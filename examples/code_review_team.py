"""The message bus seed: a code-review team that talks through published messages.

An orchestrator splits a plan into tasks and sends each to a coder by role (`role:backend`,
`role:frontend`, or `role:coder` for whichever coder is next). A coder publishes its work as an
`Artifact`, which the bus broadcasts to every other agent (`Route(Artifact, to="*")`): the
reviewer reviews it and publishes a `Verdict` (routed to `role:lead`), the other coder keeps it
for reference, the orchestrator logs it. A rejected artifact is sent back for a second attempt.

One coder crashes on a flaky task. Its supervisor restarts it and the task is redelivered
(`retry_failed=1`); an `AgentCrashed` tap on the event stream publishes an `ErrorReport`,
routed to the lead, so the orchestrator hears about the failure before the task's verdict.
The orchestrator answers the plan (a deferred reply) once every task is approved.

Shows: `Route` / `publish`, role addressing, `self.defer`, `retry_failed`, an inline event
subscription turning crashes into messages, `system.tree()`.
"""

from __future__ import annotations

import threading

from actors import (
    ActorSystem,
    AgentActor,
    AgentCrashed,
    Message,
    ReplyToken,
    Route,
    handler,
)
from supervision import ChildSpec, RestartPolicy, SupervisorSpec

_print_lock = threading.Lock()


def say(who: str, text: str) -> None:
    with _print_lock:  # agents print from their own threads: one whole line at a time
        print(f"  [{who:>14}] {text}", flush=True)  # flushed: stdout may be a pipe


class Work(Message):
    title: str
    role: str  # who should do it: "backend", "frontend" or "coder" (any coder)


class Plan(Message):
    work: list[Work]


class Task(Message):
    title: str
    attempt: int = 1


class Artifact(Message):
    task: str
    author: str
    attempt: int
    content: str


class Verdict(Message):
    task: str
    attempt: int
    approved: bool
    comment: str


class ErrorReport(Message):
    agent: str
    error: str
    directive: str | None


class Summary(Message):
    approved: list[str]
    revisions: int
    errors: list[str]


class Flakiness:
    """Which tasks crash their coder the first time (shared by every incarnation)."""

    def __init__(self, *titles: str) -> None:
        self._lock = threading.Lock()
        self._pending = set(titles)

    def strikes(self, title: str) -> bool:
        with self._lock:
            if title in self._pending:
                self._pending.discard(title)
                return True
            return False


class Orchestrator(AgentActor):
    """Sends tasks out by role, collects verdicts and error reports, answers the plan."""

    roles = ("lead",)

    def __init__(self) -> None:
        super().__init__()
        self.plan: ReplyToken | None = None
        self.roles_by_task: dict[str, str] = {}
        self.approved: list[str] = []
        self.revisions = 0
        self.errors: list[str] = []

    @handler
    def on_plan(self, plan: Plan) -> None:
        self.plan = self.defer()  # answered from on_verdict, once everything is approved
        for work in plan.work:
            self.roles_by_task[work.title] = work.role
            say(self.name, f"-> role:{work.role:<8} {work.title!r}")
            self.tell(f"role:{work.role}", Task(title=work.title))

    @handler
    def on_artifact(self, artifact: Artifact) -> None:
        say(self.name, f"saw artifact {artifact.task!r} v{artifact.attempt} by {artifact.author}")

    @handler
    def on_verdict(self, verdict: Verdict) -> None:
        if not verdict.approved:
            self.revisions += 1
            role = self.roles_by_task[verdict.task]
            say(self.name, f"-> role:{role:<8} {verdict.task!r} again ({verdict.comment})")
            self.tell(f"role:{role}", Task(title=verdict.task, attempt=verdict.attempt + 1))
            return
        self.approved.append(verdict.task)
        if len(self.approved) == len(self.roles_by_task) and self.plan is not None:
            summary = Summary(
                approved=sorted(self.approved), revisions=self.revisions, errors=self.errors
            )
            self.plan.reply(summary)

    @handler
    def on_error_report(self, report: ErrorReport) -> None:
        say(self.name, f"error report: {report.agent} raised {report.error} ({report.directive})")
        self.errors.append(f"{report.agent}: {report.error}")


class Coder(AgentActor):
    """Turns a task into an artifact and publishes it; keeps the other coders' artifacts."""

    roles = ("coder",)

    def __init__(self, flaky: Flakiness) -> None:
        super().__init__()
        self.flaky = flaky
        self.library: list[str] = []  # what the other coders published

    @handler
    def on_task(self, task: Task) -> None:
        restarts = self.context.restarts
        say(self.name, f"<- {task.title!r} attempt {task.attempt} (restarts so far: {restarts})")
        if self.flaky.strikes(task.title):
            say(self.name, "   the test database is gone: crash!")
            raise ConnectionError("test database unreachable")
        content = f"+ {task.title}"
        if task.title.endswith("docs") and task.attempt == 1:
            content += "  # TODO: examples"
        artifact = Artifact(
            task=task.title, author=self.name, attempt=task.attempt, content=content
        )
        self.publish(artifact)  # the bus broadcasts it to every other agent

    @handler
    def on_artifact(self, artifact: Artifact) -> None:
        self.library.append(artifact.task)


class Reviewer(AgentActor):
    """Reviews every artifact it sees; a leftover TODO is sent back."""

    roles = ("reviewer",)

    @handler
    def on_artifact(self, artifact: Artifact) -> None:
        approved = "TODO" not in artifact.content
        comment = "looks good" if approved else "a TODO is left"
        say(self.name, f"{artifact.task!r} v{artifact.attempt}: {comment}")
        verdict = Verdict(
            task=artifact.task, attempt=artifact.attempt, approved=approved, comment=comment
        )
        self.publish(verdict)  # routed to the lead


def main() -> None:
    routes = [
        Route(Artifact, to="*"),  # every agent but the author
        Route(Verdict, to="role:lead"),
        Route(ErrorReport, to="role:lead"),
    ]
    flaky = Flakiness("migrate the schema")
    with ActorSystem("review", routes=routes) as system:

        def report(crash: AgentCrashed) -> None:
            # Inline: runs in the supervisor's thread before the restart, so the report is
            # queued for the lead before the redelivered task can produce a verdict.
            system.publish(
                ErrorReport(agent=crash.name, error=crash.error, directive=crash.directive)
            )

        system.events.subscribe(report, AgentCrashed, inline=True)
        system.start_tree(
            SupervisorSpec(
                "team",
                children=[
                    ChildSpec(Orchestrator, name="orchestrator"),
                    ChildSpec(Reviewer, name="reviewer"),
                    ChildSpec(
                        Coder, flaky, name="coder-be", roles=("coder", "backend"), retry_failed=1
                    ),
                    ChildSpec(Coder, flaky, name="coder-fe", roles=("coder", "frontend")),
                ],
                policy=RestartPolicy(max_restarts=3, within=10.0),
            )
        )
        plan = Plan(
            work=[
                Work(title="add the /health endpoint", role="backend"),
                Work(title="migrate the schema", role="backend"),
                Work(title="restyle the login page", role="frontend"),
                Work(title="update the docs", role="coder"),
            ]
        )
        summary = system.ask("orchestrator", plan, timeout=10.0)
        assert isinstance(summary, Summary)
        print("summary:")
        for title in summary.approved:
            print(f"  approved: {title}")
        print(f"  revisions: {summary.revisions}")
        for error in summary.errors:
            print(f"  error report: {error}")
        print(system.tree())
        assert len(summary.approved) == 4
        assert summary.revisions == 1
        assert summary.errors == ["coder-be: ConnectionError('test database unreachable')"]
    print("review finished: 4 tasks approved, 1 revision, 1 crash reported and recovered")


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # this example prints its own story (the crash is logged at ERROR otherwise)
    main()
