"""A research pool: an orchestrator fans topics out to a pool of researchers with bounded
concurrency, keeps the partial results when a topic takes too long, and asks a person (a plain
thread reading an inbox) to approve the report before it answers.

Shows: `spawn_pool` with LEAST_BUSY routing, `self.gather` (GatherDone in the mailbox, per-item
timeouts, outcomes), `self.defer` (the brief's ask stays open across messages), an ask to a
role held by an inbox, and a future callback that runs in the orchestrator's own thread.
"""

from __future__ import annotations

import threading
import time

from actors import (
    ActorSystem,
    AgentActor,
    Future,
    GatherDone,
    Message,
    ReplyToken,
    handler,
)


class Topic(Message):
    subject: str
    hours: float  # how long the research takes (simulated: a hundredth of a second per hour)


class Finding(Message):
    subject: str
    summary: str


class Brief(Message):
    topics: list[Topic]


class Approval(Message):
    findings: list[str]
    missing: list[str]


class Decision(Message):
    approved: bool
    note: str


class Report(Message):
    findings: list[str]
    missing: list[str]
    approved: bool
    note: str


class Researcher(AgentActor):
    """Researches one topic at a time; a long topic checks for cancellation as it goes."""

    @handler
    def on_topic(self, topic: Topic) -> Finding:
        for _ in range(int(topic.hours)):
            time.sleep(0.01)  # simulated work, an hour of it
            self.check_cancelled()  # a gather that gave up on it stops it here
        return Finding(subject=topic.subject, summary=f"{self.name}: {topic.subject} looks fine")


class Orchestrator(AgentActor):
    """Answers a Brief with an approved Report, without ever blocking its own thread."""

    def __init__(self) -> None:
        super().__init__()
        self.brief: ReplyToken | None = None
        self.findings: list[str] = []
        self.missing: list[str] = []

    @handler
    def on_brief(self, brief: Brief) -> None:
        self.brief = self.defer()  # answered later, from on_done's callback
        self.gather(brief.topics, "role:researcher", max_in_flight=3, timeout=0.25)

    @handler
    def on_done(self, done: GatherDone) -> None:
        for outcome in done.gather.results(timeout=0):
            subject = outcome.message.subject  # type: ignore[attr-defined]
            if outcome.ok:
                self.findings.append(outcome.value.summary)
            else:
                self.missing.append(f"{subject} ({outcome.status})")
        question = Approval(findings=self.findings, missing=self.missing)
        self.ask_future("role:human", question, timeout=5.0).add_done_callback(self.on_decision)

    def on_decision(self, future: Future[Decision]) -> None:  # runs in this agent's thread
        decision = future.get(timeout=0)
        assert self.brief is not None
        self.brief.reply(
            Report(
                findings=self.findings,
                missing=self.missing,
                approved=decision.approved,
                note=decision.note,
            )
        )


def main() -> None:
    with ActorSystem("research") as system:
        pool = system.spawn_pool(Researcher, name="researchers", size=3, role="researcher")
        print(f"pool {pool.name}: {[ref.name for ref in pool.members()]}")
        inbox = system.inbox("alice", roles=("human",))
        system.spawn(Orchestrator, name="orchestrator")

        def alice() -> None:  # a person, answering through her inbox from a plain thread
            envelope = inbox.get(timeout=10.0)
            question = envelope.body
            assert isinstance(question, Approval)
            print(f"alice reads {len(question.findings)} findings; missing: {question.missing}")
            inbox.reply(envelope, Decision(approved=True, note="good enough for a first pass"))

        person = threading.Thread(target=alice, name="alice")
        person.start()
        topics = [
            Topic(subject="actor models", hours=2),
            Topic(subject="supervision trees", hours=3),
            Topic(subject="the whole of mathematics", hours=500),  # will not finish in time
            Topic(subject="mailboxes", hours=1),
            Topic(subject="backpressure", hours=2),
        ]
        report = system.ask("orchestrator", Brief(topics=topics), timeout=15.0)
        person.join(10.0)
        assert isinstance(report, Report)
        print(f"report approved={report.approved} ({report.note})")
        for line in report.findings:
            print(f"  found   {line}")
        for line in report.missing:
            print(f"  missing {line}")
        assert report.approved
        assert len(report.findings) == 4
        assert report.missing == ["the whole of mathematics (expired)"]


if __name__ == "__main__":
    main()
