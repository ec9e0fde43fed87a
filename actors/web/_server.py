"""`serve`'s server: uvicorn on a thread of its own, stopped by `ObserverURL.stop` or a shutdown.

The listening socket is bound in the caller's thread, so a taken port raises there and the URL
is known at once (connections wait in the socket's backlog until uvicorn accepts them). uvicorn
runs ``asyncio.run`` in the thread ``regiment:<system>/web``; stopping sets the app's closing
flag (every live-feed stream sends ``stopped`` and ends), asks uvicorn to exit, and joins the
thread, which also joins the event loop's worker threads (``asyncio.run`` shuts its executor
down). uvicorn's signal handlers are never installed (it is not the main thread).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from actors.web._feed import Closing

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from actors.system import ActorSystem

__all__ = ["GRACE", "JOIN_TIMEOUT", "ObserverURL", "start"]

JOIN_TIMEOUT = 5.0  # seconds a stop (or the system's shutdown) waits for the server's thread
GRACE = 2  # seconds uvicorn waits for open requests before it cancels them


class ObserverURL(str):
    """The URL the observer page is served at (a `str`), with a way to stop the server.

    `actors.web.serve` returns it: ``print(url)``, ``httpx.get(url + "api/tree")``, and
    ``url.stop()`` once done (the system's shutdown stops it anyway).

    Attributes:
        host: the address the server listens on.
        port: the TCP port it listens on.
    """

    host: str
    port: int
    _stop: Callable[[float], bool]

    def __new__(cls, url: str, host: str, port: int, stop: Callable[[float], bool]) -> ObserverURL:
        made = super().__new__(cls, url)
        made.host = host
        made.port = port
        made._stop = stop
        return made

    def stop(self, timeout: float = JOIN_TIMEOUT) -> bool:
        """Stop serving and join the server's thread (idempotent; any thread but the server's).

        Open live-feed streams are sent ``stopped`` and closed first.

        Returns:
            True if the server's thread ended within ``timeout`` seconds.
        """
        return self._stop(timeout)


class _Server:
    """One running uvicorn server and the way to stop it (once)."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, closing: Closing) -> None:
        self.server = server
        self.thread = thread
        self.closing = closing
        self.forget: Callable[[], None] = _nothing  # removes the system's shutdown callback

    def stop(self, timeout: float) -> bool:
        self.forget()
        self.closing.set()
        self.server.should_exit = True
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)
        return not self.thread.is_alive()


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def start(
    system: ActorSystem, app: Callable[[Closing], Starlette], host: str, port: int
) -> ObserverURL:
    """Bind ``host:port``, run ``app(closing)`` with uvicorn on a new thread, return the URL.

    Raises:
        OSError: if the address cannot be bound.
    """
    import uvicorn  # noqa: PLC0415 - only `serve` needs it (the caller checked it is there)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    try:
        bound_port = int(sock.getsockname()[1])
        closing = Closing()
        config = uvicorn.Config(
            app(closing),
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http="h11",
            ws="none",
            loop="asyncio",
            timeout_graceful_shutdown=GRACE,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"regiment:{system.name}/web",
            daemon=True,
        )
    except BaseException:
        sock.close()
        raise
    running = _Server(server, thread, closing)
    thread.start()
    # If the system shut down meanwhile, this stops the server at once.
    running.forget = system._runtime.on_shutdown(lambda: running.stop(JOIN_TIMEOUT))
    return ObserverURL(_url(host, bound_port), host, bound_port, running.stop)


def _nothing() -> None:
    """The shutdown callback's remover before it is known."""
