"""A message broker by type: artifacts are broadcast, questions go to a person's inbox, status
heartbeats are only recorded; every envelope is kept in the message log and exported as JSONL.

Shows: `Route` / `publish`, `to=None` (recorded, delivered to nobody), an inbox answered by a
plain thread, `ActorSystem(message_log=...)`, `export_jsonl` and `read_jsonl`.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from actors import (
    ActorSystem,
    AgentActor,
    Message,
    Route,
    handler,
    read_jsonl,
)


class Artifact(Message):
    name: str


class Question(Message):
    text: str


class Answer(Message):
    text: str


class Status(Message):
    agent: str
    busy: bool


class Writer(AgentActor):
    """Publishes an artifact, asks the person a question, reports its status."""

    @handler
    def on_question(self, question: Question) -> str:
        self.publish(Status(agent=self.name, busy=True))  # recorded only
        answer = self.ask("role:human", question, timeout=5.0)  # the inbox's holder answers
        self.publish(Artifact(name=f"draft answering {answer.text!r}"))  # to every agent
        self.publish(Status(agent=self.name, busy=False))
        return answer.text


class Reader(AgentActor):
    """Receives every artifact."""

    def __init__(self, seen: list[str], got: threading.Event) -> None:
        super().__init__()
        self.seen = seen
        self.got = got

    @handler
    def on_artifact(self, artifact: Artifact) -> None:
        self.seen.append(f"{self.name} got {artifact.name}")
        self.got.set()


def main() -> None:
    routes = [Route(Artifact, to="*"), Route(Question, to="role:human"), Route(Status, to=None)]
    seen: list[str] = []
    got = threading.Event()
    with ActorSystem("broker", routes=routes, message_log=1_000) as system:
        system.spawn(Writer, name="writer")
        system.spawn(Reader, seen, got, name="reader")
        inbox = system.inbox("alice", roles=("human",))

        def alice() -> None:  # a person, answering through her inbox from a plain thread
            envelope = inbox.get(timeout=10.0)
            print(f"alice was asked: {envelope.body.text}")  # type: ignore[attr-defined]
            inbox.reply(envelope, Answer(text="ship it on Friday"))

        person = threading.Thread(target=alice, name="alice")
        person.start()
        answer = system.ask("writer", Question(text="when do we ship?"), timeout=10.0)
        person.join(10.0)
        assert got.wait(10.0), "the artifact never reached the reader"
        print(f"the writer heard: {answer}")
        for line in seen:
            print(f"  {line}")

        log = system.message_log
        assert log is not None
        statuses = log.query(type=Status)
        sent, beats = log.count(), len(statuses)
        print(f"{sent} envelopes sent; {beats} status heartbeats recorded, to {statuses[0].to}")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "broker.jsonl"
            written = log.export_jsonl(path)
            again = read_jsonl(path)
            print(f"exported {written} envelopes and read {len(again)} back")
            assert [e.to_dict() for e in again] == [e.to_dict() for e in log.query()]
        assert len(statuses) == 2
        assert str(statuses[0].to) == "-"


if __name__ == "__main__":
    main()
