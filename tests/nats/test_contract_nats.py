"""What `actors.nats` relies on from nats-py and nats-server, each pinned by a small experiment.

Every test talks to a real server (the ``nats_server`` fixture: 127.0.0.1, a free port) with
plain nats-py, no regiment code, so an upgrade of either that changes a behaviour the transport
builds on fails here, by name, rather than somewhere deep in a cross-process test. Which part
of the transport depends on each behaviour is said in each test's docstring.

pytest-asyncio is not a dependency: each test is a sync function that runs one coroutine with
`asyncio.run` under a bounded `asyncio.wait_for`; the connections are closed before it returns
(and `asyncio.run` joins its executor thread), so no thread outlives a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable
from importlib.metadata import version
from typing import Any, TypeVar

import pytest

from tests.nats.servers import NatsServer, nats_server_binary

pytestmark = pytest.mark.timeout(60)

T = TypeVar("T")

BOUND = 20.0  # seconds any one experiment may take before it fails


def run(coroutine: Awaitable[T]) -> T:
    """Run ``coroutine`` in a fresh event loop, failing it after `BOUND` seconds."""
    return asyncio.run(asyncio.wait_for(coroutine, BOUND))  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def connected(server: NatsServer) -> AsyncIterator[Any]:
    """A nats-py connection to ``server``, closed on the way out."""
    import nats

    nc = await nats.connect(servers=[server.url], allow_reconnect=False, connect_timeout=5)
    try:
        yield nc
    finally:
        await nc.close()


async def eventually(check: Any, timeout: float, what: str) -> None:
    """Poll the coroutine function ``check`` until it returns True; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            msg = f"{what}: not within {timeout} s"
            raise AssertionError(msg)
        await asyncio.sleep(0.05)


# -- versions --------------------------------------------------------------------------------


def test_nats_server_is_at_least_2_9():
    binary = nats_server_binary()
    assert binary is not None
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=True
    ).stdout
    found = re.search(r"v(\d+)\.(\d+)\.(\d+)", out)
    assert found is not None, out
    assert tuple(int(part) for part in found.groups()[:2]) >= (2, 9), out


def test_nats_py_is_2_x_and_has_every_name_the_transport_imports():
    major = int(version("nats-py").split(".")[0])
    assert major == 2, version("nats-py")
    import nats
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.api import AckPolicy, RetentionPolicy, StorageType
    from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

    assert callable(nats.connect)
    assert issubclass(NatsTimeout, asyncio.TimeoutError)
    for error in (NoRespondersError, KeyNotFoundError, KeyWrongLastSequenceError):
        assert issubclass(error, Exception)
    assert (RetentionPolicy.WORK_QUEUE.value, StorageType.FILE.value) == ("workqueue", "file")
    assert AckPolicy.EXPLICIT.value == "explicit"


# -- (a) the names bucket: create-if-absent and compare-and-set ------------------------------


def test_kv_create_of_an_existing_key_raises_wrong_last_sequence(nats_server: NatsServer):
    """`Node._claim`: a name another node holds makes ``create`` raise this exact error."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import KeyWrongLastSequenceError

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            kv = await nc.jetstream().create_key_value(KeyValueConfig(bucket="names", history=1))
            first = await kv.create("coder-1", b'{"node":"a"}')
            assert first > 0
            with pytest.raises(KeyWrongLastSequenceError):
                await kv.create("coder-1", b'{"node":"b"}')
            assert (await kv.get("coder-1")).value == b'{"node":"a"}'

    run(experiment())


def test_kv_update_succeeds_with_the_current_revision_and_fails_with_a_stale_one(
    nats_server: NatsServer,
):
    """`Node._claim` takes over a dead node's name with ``update(last=revision)``."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import KeyWrongLastSequenceError

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            kv = await nc.jetstream().create_key_value(KeyValueConfig(bucket="names", history=1))
            await kv.create("coder-1", b'{"node":"dead"}')
            entry = await kv.get("coder-1")
            revision = await kv.update("coder-1", b'{"node":"me"}', last=entry.revision)
            assert revision > entry.revision
            current = await kv.get("coder-1")
            assert (current.value, current.revision) == (b'{"node":"me"}', revision)
            with pytest.raises(KeyWrongLastSequenceError):  # someone else was quicker
                await kv.update("coder-1", b'{"node":"late"}', last=entry.revision)
            assert (await kv.get("coder-1")).value == b'{"node":"me"}'

    run(experiment())


def test_kv_get_of_a_deleted_key_raises_not_found_and_create_takes_it_again(
    nats_server: NatsServer,
):
    """`Node._lookup` catches only ``KeyNotFoundError``; a released name can be claimed anew."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import KeyNotFoundError

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            kv = await nc.jetstream().create_key_value(KeyValueConfig(bucket="names", history=1))
            await kv.create("coder-1", b'{"node":"a"}')
            await kv.delete("coder-1")
            with pytest.raises(KeyNotFoundError):
                await kv.get("coder-1")
            with pytest.raises(KeyNotFoundError):
                await kv.get("never-was")
            await kv.create("coder-1", b'{"node":"b"}')  # over the delete marker
            assert (await kv.get("coder-1")).value == b'{"node":"b"}'

    run(experiment())


# -- (b) the nodes bucket: heartbeats expire ------------------------------------------------


def test_kv_bucket_with_a_ttl_drops_a_key_not_put_again_within_it(nats_server: NatsServer):
    """A crashed node's heartbeat leaves the ``P-nodes`` bucket after the TTL."""
    from nats.js.api import KeyValueConfig
    from nats.js.errors import KeyNotFoundError

    ttl = 1.0

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            kv = await nc.jetstream().create_key_value(
                KeyValueConfig(bucket="nodes", history=1, ttl=ttl)
            )
            await kv.put("silent", b"{}")
            await kv.put("beating", b"{}")
            put = time.monotonic()

            async def gone() -> bool:
                await kv.put("beating", b"{}")  # a live node re-puts well within the TTL
                try:
                    await kv.get("silent")
                except KeyNotFoundError:
                    return True
                return False

            await eventually(gone, 10 * ttl, "the silent key never expired")
            assert time.monotonic() - put >= ttl * 0.9, "dropped before its TTL"
            assert (await kv.get("beating")).value == b"{}"

    run(experiment())


# -- (c) registry caches: watchall -----------------------------------------------------------


def test_kv_watchall_yields_the_current_entries_then_none_then_puts_and_deletes(
    nats_server: NatsServer,
):
    """`Node._watch` waits for the ``None`` marker, then follows puts and deletes."""
    from nats.js.api import KeyValueConfig

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            kv = await nc.jetstream().create_key_value(KeyValueConfig(bucket="names", history=1))
            await kv.put("a", b"1")
            await kv.put("b", b"2")
            await kv.put("a", b"3")  # history=1: only the latest value of "a" is replayed
            watcher = await kv.watchall()
            try:
                initial = [await watcher.updates(timeout=5) for _ in range(3)]
                assert [(e.key, e.value, e.operation) for e in initial[:2]] == [
                    ("b", b"2", None),
                    ("a", b"3", None),
                ]
                assert initial[2] is None
                await kv.put("c", b"4")
                await kv.delete("b")
                put = await watcher.updates(timeout=5)
                deleted = await watcher.updates(timeout=5)
                assert (put.key, put.value, put.operation) == ("c", b"4", None)
                assert (deleted.key, deleted.operation) == ("b", "DEL")
                assert not deleted.value  # `Node._name_seen` also treats an empty value as gone
            finally:
                await watcher.stop()

    run(experiment())


def test_kv_watchall_of_an_empty_bucket_yields_none_at_once(nats_server: NatsServer):
    """The first node of a cluster finds both buckets empty and must not wait for a timeout."""
    from nats.js.api import KeyValueConfig

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            kv = await nc.jetstream().create_key_value(KeyValueConfig(bucket="empty", history=1))
            watcher = await kv.watchall()
            try:
                started = time.monotonic()
                assert await watcher.updates(timeout=5) is None
                assert time.monotonic() - started < 1.0
            finally:
                await watcher.stop()

    run(experiment())


# -- (d) roles: queue groups -----------------------------------------------------------------


def test_each_message_to_a_queue_group_reaches_exactly_one_of_its_subscribers(
    nats_server: NatsServer,
):
    """Role addressing: one queue subscription per node on ``P.role.<role>``."""
    total = 200

    async def experiment() -> None:
        async with (
            connected(nats_server) as one,
            connected(nats_server) as two,
            connected(nats_server) as sender,
        ):
            got: dict[str, list[int]] = {"one": [], "two": []}
            all_in = asyncio.Event()

            def collect(who: str) -> Any:
                async def cb(msg: Any) -> None:
                    got[who].append(int(msg.data))
                    if len(got["one"]) + len(got["two"]) >= total:
                        all_in.set()

                return cb

            await one.subscribe("p.role.coder", queue="coder", cb=collect("one"))
            await two.subscribe("p.role.coder", queue="coder", cb=collect("two"))
            await one.flush()
            await two.flush()
            for n in range(total):
                await sender.publish("p.role.coder", str(n).encode())
            await sender.flush()
            await asyncio.wait_for(all_in.wait(), 10)
            await asyncio.sleep(0.2)  # room for a duplicate to show up
            await one.flush()
            await two.flush()
            assert sorted(got["one"] + got["two"]) == list(range(total))
            assert got["one"], "the other member got every message"
            assert got["two"], "the other member got every message"

    run(experiment())


# -- (e) asks: no responders -----------------------------------------------------------------


def test_request_to_a_subject_nobody_subscribes_fails_at_once_with_no_responders(
    nats_server: NatsServer,
):
    """An ask of a name or role no node has fails at once (`UnknownAddress`), not at timeout."""
    from nats.errors import NoRespondersError

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            started = time.monotonic()
            with pytest.raises(NoRespondersError):
                await nc.request("p.direct.nobody", b"{}", timeout=5.0)
            assert time.monotonic() - started < 1.0

    run(experiment())


def test_request_is_answered_through_the_reply_subject(nats_server: NatsServer):
    """Remote asks: the receiving node publishes its answer to ``msg.reply``.

    And what the transport's retry rests on: a request made right after another connection's
    flushed SUB is usually answered, but may get "no responders" (nats-io/nats-server#2876;
    seen here on 2.9.10 in up to one try in ten on a busy machine, most often just after the
    server started); the same request 50 ms later is answered. So a node retries a
    no-responders request while its registry says the address is held.
    """
    from nats.errors import NoRespondersError

    async def experiment() -> None:
        async with connected(nats_server) as server, connected(nats_server) as client:

            async def answer(msg: Any) -> None:
                await server.publish(msg.reply, b"re:" + msg.data)

            retried = 0
            for n in range(200):
                subject = f"p.direct.echo-{n}"
                await server.subscribe(subject, cb=answer)
                await server.flush()
                try:
                    reply = await client.request(subject, b"hi", timeout=5.0)
                except NoRespondersError:
                    retried += 1
                    await asyncio.sleep(0.05)
                    reply = await client.request(subject, b"hi", timeout=5.0)
                assert reply.data == b"re:hi", f"after {retried} retries"

    run(experiment())


# -- (f) durable mailboxes: work queue and durable pull consumer -----------------------------

ACK_WAIT = 1.0


async def durable_pull(nc: Any, name: str = "keeper") -> Any:
    """The stream and consumer as `actors.nats._durable.Durables` makes them."""
    from nats.js.api import (
        AckPolicy,
        ConsumerConfig,
        RetentionPolicy,
        StorageType,
        StreamConfig,
    )

    js = nc.jetstream(timeout=5)
    config = StreamConfig(
        name="p_durable",
        subjects=["p.durable.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
    )
    with contextlib.suppress(Exception):  # the second connection finds it there
        await js.add_stream(config)
    consumer = ConsumerConfig(
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT,
        max_ack_pending=256,
        filter_subject=f"p.durable.{name}",
    )
    return await js.pull_subscribe(
        f"p.durable.{name}", durable=f"d-{name}", stream="p_durable", config=consumer
    )


async def nothing_within(psub: Any, seconds: float) -> bool:
    """True if a fetch finds no message for ``seconds``."""
    from nats.errors import TimeoutError as NatsTimeout

    try:
        msgs = await psub.fetch(1, timeout=seconds)
    except NatsTimeout:
        return True
    assert not msgs
    return True


def test_an_unacked_message_is_redelivered_after_ack_wait_with_its_delivery_count(
    nats_server: NatsServer,
):
    """`Durables._deliver` sets ``envelope.deliveries`` from ``metadata.num_delivered``."""

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            psub = await durable_pull(nc)
            await nc.jetstream().publish("p.durable.keeper", b"job-1", stream="p_durable")
            (first,) = await psub.fetch(1, timeout=5)
            fetched = time.monotonic()
            assert (first.data, first.metadata.num_delivered) == (b"job-1", 1)
            (again,) = await psub.fetch(1, timeout=5 + ACK_WAIT)
            assert time.monotonic() - fetched >= ACK_WAIT * 0.8, "redelivered before ack_wait"
            assert (again.data, again.metadata.num_delivered) == (b"job-1", 2)
            await again.ack()

    run(experiment())


def test_an_unacked_message_goes_to_a_new_subscription_on_the_same_durable_after_a_close(
    nats_server: NatsServer,
):
    """A durable agent spawned again (in another process) gets what the dead one held."""

    async def experiment() -> None:
        async with connected(nats_server) as first:
            psub = await durable_pull(first)
            await first.jetstream().publish("p.durable.keeper", b"job-1", stream="p_durable")
            (held,) = await psub.fetch(1, timeout=5)
            assert held.metadata.num_delivered == 1
        # The first connection is gone without acking (as after SIGKILL).
        async with connected(nats_server) as second:
            psub = await durable_pull(second)
            (again,) = await psub.fetch(1, timeout=5 + ACK_WAIT)
            assert (again.data, again.metadata.num_delivered) == (b"job-1", 2)
            await again.ack()

    run(experiment())


def test_an_acked_message_is_gone_from_the_work_queue(nats_server: NatsServer):
    """A handled durable message is never redelivered, and the stream does not keep it."""

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            psub = await durable_pull(nc)
            js = nc.jetstream()
            await js.publish("p.durable.keeper", b"job-1", stream="p_durable")
            (msg,) = await psub.fetch(1, timeout=5)
            await msg.ack_sync()  # acked, and the server said so
            assert await nothing_within(psub, ACK_WAIT * 2)

            async def empty() -> bool:
                return (await js.stream_info("p_durable")).state.messages == 0

            await eventually(empty, 5, "the acked message stayed in the stream")

    run(experiment())


def test_a_plain_ack_publish_to_the_reply_subject_acknowledges(nats_server: NatsServer):
    """`Durables.settle` acknowledges by publishing ``+ACK`` to the message's reply subject
    (through the node's pump, in order with its other publishes) instead of ``Msg.ack``."""

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            psub = await durable_pull(nc)
            js = nc.jetstream()
            for n in range(3):
                await js.publish("p.durable.keeper", f"job-{n}".encode(), stream="p_durable")
            msgs = await psub.fetch(3, timeout=5)
            assert len(msgs) == 3
            for msg in msgs:
                await nc.publish(msg.reply, b"+ACK")
            await nc.flush()
            assert await nothing_within(psub, ACK_WAIT * 2)

            async def empty() -> bool:
                return (await js.stream_info("p_durable")).state.messages == 0

            await eventually(empty, 5, "the acknowledged messages stayed in the stream")

    run(experiment())


def test_in_progress_delays_redelivery_past_ack_wait(nats_server: NatsServer):
    """`Durables._keep` holds queued messages with ``in_progress`` every third of ack_wait."""

    from nats.errors import TimeoutError as NatsTimeout

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            psub = await durable_pull(nc)
            await nc.jetstream().publish("p.durable.keeper", b"job-1", stream="p_durable")
            (msg,) = await psub.fetch(1, timeout=5)
            kept = time.monotonic()
            while time.monotonic() - kept < ACK_WAIT * 2.5:  # well past ack_wait
                await msg.in_progress()
                with contextlib.suppress(NatsTimeout):
                    early = await psub.fetch(1, timeout=ACK_WAIT / 3)
                    pytest.fail(f"redelivered while in progress: {early}")
            (again,) = await psub.fetch(1, timeout=5 + ACK_WAIT)  # no more in_progress
            assert again.metadata.num_delivered == 2
            await again.ack()

    run(experiment())


def test_a_nak_makes_the_message_come_again_at_once(nats_server: NatsServer):
    """`Durables.detach` naks what an agent never handled so its next spawn gets it now."""

    async def experiment() -> None:
        async with connected(nats_server) as nc:
            psub = await durable_pull(nc)
            await nc.jetstream().publish("p.durable.keeper", b"job-1", stream="p_durable")
            (msg,) = await psub.fetch(1, timeout=5)
            await msg.nak()
            started = time.monotonic()
            (again,) = await psub.fetch(1, timeout=5)
            assert time.monotonic() - started < ACK_WAIT / 2, "a nak waited for ack_wait"
            assert again.metadata.num_delivered == 2
            await again.ack()

    run(experiment())


# -- (g) ordering per sender and receiver ----------------------------------------------------


def test_messages_from_one_connection_to_one_subscriber_arrive_in_publish_order(
    nats_server: NatsServer,
):
    """The guarantee "ordering per sender-receiver pair" rests on this."""
    total = 2_000

    async def experiment() -> None:
        async with connected(nats_server) as receiver, connected(nats_server) as sender:
            got: list[int] = []
            all_in = asyncio.Event()

            async def cb(msg: Any) -> None:
                got.append(int(msg.data))
                if len(got) == total:
                    all_in.set()

            await receiver.subscribe("p.direct.sink", cb=cb)
            await receiver.flush()
            for n in range(total):
                await sender.publish("p.direct.sink", str(n).encode())
            await sender.flush()
            await asyncio.wait_for(all_in.wait(), 10)
            assert got == list(range(total))

    run(experiment())
