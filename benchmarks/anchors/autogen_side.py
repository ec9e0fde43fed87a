"""autogen-core's `SingleThreadedAgentRuntime` (``pip install autogen-core``).

Every agent runs on one asyncio event loop in the calling thread: a `RoutedAgent` with a
``@message_handler``; ``runtime.publish_message`` is its fire-and-forget send (to a topic a
`TypeSubscription` maps to one agent, or to every subscriber for a broadcast) and
``runtime.send_message`` its request/reply. "Producers" are tasks on that loop. Each workload
runs its own ``asyncio.run`` with its own runtime and stops it before returning.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from autogen_core import (
    AgentId,
    MessageContext,
    RoutedAgent,
    SingleThreadedAgentRuntime,
    TopicId,
    TypeSubscription,
    message_handler,
)

from benchmarks.anchors.common import NotApplicable, Side, Tally, perf_counter, rss_kib, split

T = TypeVar("T")
TOPIC = "bench"


@dataclass
class Tick:
    """The message every send carries (one instance, shared by all sends)."""

    n: int = 0


class Counting(RoutedAgent):
    """Counts `Tick`s into a tally; answers a request with the tick's number."""

    def __init__(self, tally: Any) -> None:
        super().__init__("counts ticks")
        self.tally = tally

    @message_handler
    async def on_tick(self, message: Tick, ctx: MessageContext) -> int:
        self.tally.hit()
        return message.n


async def _runtime(
    agents: int, tally: Any, *, each_own_topic: bool = True
) -> tuple[Any, list[TopicId]]:
    """A started runtime with ``agents`` counting agents; the topics that reach each one.

    ``each_own_topic``: agent i is reached by ``TopicId(TOPIC, str(i))``; otherwise every
    agent subscribes to the one topic ``TopicId("all", "default")`` (a broadcast).
    """
    runtime = SingleThreadedAgentRuntime()
    for i in range(agents):
        agent_type = "counting" if each_own_topic else f"counting-{i}"
        key = str(i) if each_own_topic else "default"
        await runtime.register_agent_instance(Counting(tally), AgentId(agent_type, key))
        if not each_own_topic:
            await runtime.add_subscription(TypeSubscription("all", agent_type))
    if each_own_topic:
        await runtime.add_subscription(TypeSubscription(TOPIC, "counting"))
    runtime.start()
    topics = [TopicId(TOPIC, str(i)) for i in range(agents)] if each_own_topic else []
    return runtime, topics


def _run(work: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(work())  # type: ignore[arg-type]


class AutogenSide(Side):
    """autogen-core's single-threaded runtime."""

    key = "autogen"

    def _sends(self, n: int, producers: int, agents: int, *, cycle: bool = False) -> float:
        """``producers`` tasks publish ``n`` ticks in all; seconds until all handled."""
        msg = Tick()

        async def work() -> float:
            tally = Tally(n, shared=agents > 1)
            runtime, topics = await _runtime(agents, tally)
            try:

                async def body(targets: list[TopicId], count: int) -> None:
                    publish = runtime.publish_message
                    for topic, item in zip(
                        itertools.cycle(targets), itertools.repeat(msg, count), strict=False
                    ):
                        await publish(item, topic)

                if cycle:
                    plan = [(topics, n)]
                elif agents == 1:
                    plan = [(topics, c) for c in split(n, producers)]
                else:
                    plan = [([t], c) for t, c in zip(topics, split(n, producers), strict=True)]
                gc.collect()
                start = perf_counter()
                await asyncio.gather(*(body(t, c) for t, c in plan))
                await runtime.stop_when_idle()
                return tally.wait("autogen sends", timeout=0) - start
            finally:
                await runtime.close()

        return _run(work)

    def tell(self, n: int, producers: int) -> float:
        return self._sends(n, producers, 1)

    def pairs(self, n: int, pairs: int) -> float:
        return self._sends(n, pairs, pairs)

    def role(self, n: int, agents: int) -> float:
        return self._sends(n, 1, agents, cycle=True)

    def ask(self, n: int) -> list[float]:
        msg = Tick(1)

        async def work() -> list[float]:
            runtime, _ = await _runtime(1, Tally(-1))
            target = AgentId("counting", "0")
            try:
                samples = [0.0] * n
                gc.collect()
                for i in range(n):
                    start = perf_counter()
                    await runtime.send_message(msg, target)
                    samples[i] = perf_counter() - start
                return samples
            finally:
                await runtime.stop_when_idle()
                await runtime.close()

        return _run(work)

    def broadcast(self, agents: int, repeats: int) -> list[float]:
        msg = Tick()

        async def work() -> list[float]:
            hub = _Hub(Tally(agents, shared=True))
            runtime, _ = await _runtime(agents, hub, each_own_topic=False)
            topic = TopicId("all", "default")
            try:
                times = []
                for _ in range(repeats):
                    hub.current = Tally(agents, shared=True)
                    gc.collect()
                    start = perf_counter()
                    await runtime.publish_message(msg, topic)
                    while not hub.current.done.is_set():
                        await asyncio.sleep(0)  # hand the loop to the runtime, no delay
                    times.append(hub.current.t_end - start)
                return times
            finally:
                await runtime.stop_when_idle()
                await runtime.close()

        return _run(work)

    def spawn(self, n: int) -> tuple[float, float]:
        async def work() -> tuple[float, float]:
            runtime = SingleThreadedAgentRuntime()
            runtime.start()
            gc.collect()
            start = perf_counter()
            for i in range(n):  # an instance is ready once registered
                await runtime.register_agent_instance(Counting(None), AgentId("idle", str(i)))
            spawned = perf_counter() - start
            stop = perf_counter()
            await runtime.stop()
            await runtime.close()
            return spawned, perf_counter() - stop

        return _run(work)

    def rss(self, n: int) -> float:
        async def work() -> float:
            runtime = SingleThreadedAgentRuntime()
            gc.collect()
            before = rss_kib()
            for i in range(n):
                await runtime.register_agent_instance(Counting(None), AgentId("idle", str(i)))
            gc.collect()
            after = rss_kib()
            await runtime.close()
            return (after - before) / n

        return _run(work)

    def restart(self, n: int) -> list[float]:
        raise NotApplicable(
            "no agent lifecycle: a handler's exception goes back to the sender and the "
            "agent instance stays; there is nothing to stop or restart"
        )

    def gather(self, n: int, agents: int) -> float:
        messages = [Tick(i) for i in range(n)]

        async def work() -> float:
            runtime, _ = await _runtime(agents, Tally(-1, shared=True))
            ids = [AgentId("counting", str(i)) for i in range(agents)]
            try:
                gc.collect()
                start = perf_counter()
                values = await asyncio.gather(
                    *(
                        runtime.send_message(m, a)
                        for a, m in zip(itertools.cycle(ids), messages, strict=False)
                    )
                )
                elapsed = perf_counter() - start
                if list(values) != list(range(n)):
                    msg = "autogen gather: wrong answers"
                    raise RuntimeError(msg)
                return elapsed
            finally:
                await runtime.stop_when_idle()
                await runtime.close()

        return _run(work)


class _Hub:
    __slots__ = ("current",)

    def __init__(self, tally: Tally) -> None:
        self.current = tally

    def hit(self) -> None:
        self.current.hit()
