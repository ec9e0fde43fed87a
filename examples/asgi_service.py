"""An asyncio web service fronting agents, served by a real ASGI server (uvicorn).

A plain ASGI application (no framework): its lifespan hook starts an `ActorSystem` with a
word-counting agent and an agent that fails on request, and stops it with
``await system.shutdown_async(...)``; each HTTP request awaits ``system.ask_async(...)``, so
the event loop is never blocked while an agent works. A failing agent answers 500, a bad
number 400, an unknown path 404.

`main()` serves it with uvicorn on a free port of 127.0.0.1 (a socket bound and listening
before the server starts, so no request can race the start-up), sends a few requests from
worker threads (``asyncio.to_thread`` around urllib), five of them at once, prints the
answers, then stops the server (``server.should_exit = True``), which runs the shutdown half
of the lifespan. Nothing outside 127.0.0.1 is contacted; no thread is left behind.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

from actors import ActorSystem, AgentActor, AgentFailed, Message, handler

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Count(Message):
    word: str


class Divide(Message):
    numerator: int
    denominator: int


class Counter(AgentActor):
    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    @handler
    def on_count(self, msg: Count) -> int:
        self.counts[msg.word] = self.counts.get(msg.word, 0) + 1
        return self.counts[msg.word]


class Calculator(AgentActor):
    @handler
    def on_divide(self, msg: Divide) -> float:
        return msg.numerator / msg.denominator  # 0 as the denominator: the handler raises


class App:
    """The ASGI application: the lifespan owns the system, requests ask its agents."""

    def __init__(self) -> None:
        self.system: ActorSystem | None = None
        self.ready = asyncio.Event()  # the lifespan's start-up finished
        self.stopped_cleanly: bool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                system = self.system = ActorSystem("asgi")
                system.spawn(Counter, name="counter")
                system.spawn(Calculator, name="calculator")
                await send({"type": "lifespan.startup.complete"})
                self.ready.set()
            elif event["type"] == "lifespan.shutdown":
                if self.system is not None:
                    self.stopped_cleanly = await self.system.shutdown_async(10.0, drain=5.0)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def http(self, scope: Scope, send: Send) -> None:
        assert self.system is not None, "requests are served only after the start-up"
        parts = scope["path"].strip("/").split("/")
        status, body = 404, {"error": f"no route for {scope['path']}"}
        try:
            if parts[0] == "count" and len(parts) == 2:
                seen = await self.system.ask_async("counter", Count(word=parts[1]), timeout=2.0)
                status, body = 200, {"word": parts[1], "seen": seen}
            elif parts[0] == "divide" and len(parts) == 3:
                ask = Divide(numerator=int(parts[1]), denominator=int(parts[2]))
                quotient = await self.system.ask_async("calculator", ask, timeout=2.0)
                status, body = 200, {"quotient": quotient}
        except ValueError:  # not a number in the path
            status, body = 400, {"error": f"bad numbers in {scope['path']}"}
        except AgentFailed as error:
            status, body = 500, {"error": f"{error.__cause__!r}"}
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def get(port: int, path: str) -> tuple[int, Any]:
    """GET http://127.0.0.1:port/path (blocking: run it in a worker thread)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def serve_and_query() -> App:
    app = App()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # a free port, chosen by the OS
    listener.listen(64)
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        await asyncio.wait_for(app.ready.wait(), timeout=10.0)
        print(f"serving on 127.0.0.1:{port}")
        for path in (
            "/count/actors",
            "/count/supervision",
            "/divide/7/2",
            "/divide/1/0",
            "/divide/x/y",
            "/nope",
        ):
            status, body = await asyncio.to_thread(get, port, path)
            print(f"  GET {path:<20} {status} {body}")
        together = await asyncio.gather(
            *(asyncio.to_thread(get, port, "/count/together") for _ in range(5))
        )
        seen = sorted(body["seen"] for _, body in together)
        print(f"  5 requests at once for /count/together saw counts {seen}")
        assert seen == [1, 2, 3, 4, 5]
    finally:
        server.should_exit = True  # uvicorn finishes, then runs the lifespan's shutdown
        await asyncio.wait_for(serving, timeout=20.0)
        listener.close()
    return app


def main() -> None:
    app = asyncio.run(serve_and_query())
    print(f"server stopped; the actor system shut down cleanly: {app.stopped_cleanly}")
    leftover = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    print(f"threads left: {leftover}")
    assert app.stopped_cleanly
    assert not leftover


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # the failing division is logged otherwise
    main()
