"""What arrives from the cluster is untrusted: validated, dead-lettered, policed; never a crash."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from actors import ActorSystem, AgentActor, Message, SendPolicy, SendRule, handler
from tests.nats.servers import NatsServer

WAIT = 10.0


class Note(Message):
    text: str


class Count(Message):
    pass


class Forward(Message):
    to: str
    text: str


class Vault(AgentActor):
    """Counts the notes it gets."""

    roles = ("vault",)

    def __init__(self) -> None:
        super().__init__()
        self.notes: list[str] = []

    @handler
    def on_note(self, msg: Note) -> None:
        self.notes.append(msg.text)

    @handler
    def on_count(self, msg: Count) -> list[str]:
        return self.notes


class Relay(AgentActor):
    """Sends a note where it is told to (its roles decide what the policy says)."""

    @handler
    def on_forward(self, msg: Forward) -> None:
        self.tell(msg.to, Note(text=msg.text))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


HOSTILE = [
    b"",
    b"not json",
    b"[1, 2, 3]",
    b'{"node": "x", "roles": [], "env": {"id": "1"}}',
    b'{"node": "x", "roles": ["Bad Role"], "env": {}}',
    b'{"node": 7}',
    b"[" * 100_000,
    json.dumps(
        {
            "node": "x",
            "roles": [],
            "env": {
                "id": "1",
                "type": "no.such.Type",
                "sender": None,
                "to": "vault-1",
                "kind": "event",
                "created_at": 1.0,
                "body": {},
            },
        }
    ).encode(),
    json.dumps(
        {
            "node": "x",
            "roles": [],
            "env": {
                "id": "1",
                "type": Note.type_name,
                "sender": "../etc",
                "to": "vault-1",
                "kind": "event",
                "created_at": 1.0,
                "body": {"text": "x"},
            },
        }
    ).encode(),
]


async def publish_hostile(url: str, cluster: str) -> list[bytes]:
    import nats

    nc = await nats.connect(servers=[url])
    replies = []
    try:
        for payload in HOSTILE:
            for subject in ("direct.vault-1", "role.vault", "broadcast", "broadcast.vault"):
                await nc.publish(f"{cluster}.{subject}", payload)
        reply = await nc.request(f"{cluster}.direct.vault-1", b"{garbage", timeout=5.0)
        replies.append(reply.data)
        await nc.flush()
    finally:
        await nc.close()
    return replies


def test_malformed_frames_on_every_subject_are_dead_lettered_and_break_nothing(
    make_system: Callable[..., ActorSystem], nats_server: NatsServer, cluster_name: str
) -> None:
    system = make_system("target")
    system.spawn(Vault, name="vault-1")
    replies = asyncio.run(publish_hostile(nats_server.url, cluster_name))
    expected = len(HOSTILE) * 4 + 1
    wait_for(
        lambda: system.dead_letter_counts().get("invalid_envelope", 0) >= expected,
        "every hostile frame to be dead-lettered",
    )
    assert system.dead_letter_counts()["invalid_envelope"] == expected
    assert json.loads(replies[0])["error"]["class"] == "InvalidEnvelope"
    # Everything still works: the agent, the router, the transport.
    system.tell("vault-1", Note(text="still fine"))
    assert system.ask("vault-1", Count(), timeout=WAIT) == ["still fine"]
    letter = next(d for d in system.dead_letters() if d.reason == "invalid_envelope")
    assert letter.envelope.body.fields["subject"].startswith(cluster_name)


def test_the_send_policy_applies_to_senders_on_other_nodes_by_name_and_role(
    make_system: Callable[..., ActorSystem],
) -> None:
    policy = SendPolicy([SendRule.deny(sender="role:spy", to="vault-1")])
    guarded = make_system("guarded", send_policy=policy)
    guarded.spawn(Vault, name="vault-1")
    other = make_system("other")
    other.spawn(Relay, name="spy-1", roles=["spy"])
    other.spawn(Relay, name="friend-1", roles=["friend"])
    other.tell("spy-1", Forward(to="vault-1", text="from the spy"))
    other.tell("friend-1", Forward(to="vault-1", text="from a friend"))
    wait_for(
        lambda: guarded.dead_letter_counts().get("policy_denied", 0) == 1,
        "the spy's note to be refused",
    )
    wait_for(lambda: guarded.ask("vault-1", Count(), timeout=WAIT) != [], "the friend's note")
    assert guarded.ask("vault-1", Count(), timeout=WAIT) == ["from a friend"]
    (letter,) = [d for d in guarded.dead_letters() if d.reason == "policy_denied"]
    assert letter.envelope.sender == "spy-1"
