"""The observer's Starlette application: the page, its JSON endpoints, and control.

Built by `actors.web.observer_app` (which checks that Starlette is installed first). Every
endpoint is a coroutine that reads the system through its public snapshots (`actors.web._views`);
the control endpoints, which wait for a supervisor, run their call in a worker thread of the
event loop (`asyncio.to_thread`) so the loop never blocks. Nothing here starts a thread of its
own, and the static files are read once, when the app is built.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from loguru import logger
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from actors.errors import AskTimeout, InvalidConfig, PoolFull, RegimentError, UnknownAddress
from actors.web._feed import Closing, stream
from actors.web._views import (
    Rates,
    agent_detail,
    agents_view,
    dead_letters_view,
    supervisors_of,
    tree_view,
)

if TYPE_CHECKING:
    from actors.system import ActorSystem

__all__ = ["CONTROL_TIMEOUT", "build_app"]

CONTROL_TIMEOUT = 10.0  # seconds a stop, restart or resize may take before answering 504
DEAD_LETTER_LIMIT = 100  # dead letters /api/dead-letters returns unless ?limit= says otherwise

# The page's own files, served as they are. The policy lets the page load nothing but them
# (and talk to its own origin): a name that slipped past escaping still could not run a script.
_STATIC = {
    "": ("index.html", "text/html; charset=utf-8"),
    "observer.css": ("observer.css", "text/css; charset=utf-8"),
    "observer.js": ("observer.js", "text/javascript; charset=utf-8"),
}
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_API_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

Endpoint = Callable[[Request], Awaitable[Response]]


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_API_HEADERS)


def _error(message: str, status: int) -> JSONResponse:
    return _json({"error": message}, status)


def _read_static() -> dict[str, tuple[bytes, str]]:
    folder = resources.files("actors.web").joinpath("static")
    return {
        path: (folder.joinpath(file).read_bytes(), media) for path, (file, media) in _STATIC.items()
    }


def _given_token(request: Request) -> str | None:
    """The token a request carries: ``Authorization: Bearer <t>`` or ``X-Regiment-Token: <t>``."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.headers.get("x-regiment-token")


def _client(request: Request) -> str:
    client = request.client
    return "unknown" if client is None else f"{client.host}:{client.port}"


def _positive_int(text: str | None, name: str, default: int | None) -> int | None:
    """A query parameter that must be an int >= 1 (None if absent and no default)."""
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{name} must be an integer >= 1, got {text!r:.40}"
        raise InvalidConfig(msg)
    return value


class _Observer:
    """The endpoints of one app, bound to its system, token, rate meter and closing flag."""

    def __init__(self, system: ActorSystem, control_token: str | None, closing: Closing) -> None:
        self.system = system
        self.token = control_token
        self.closing = closing
        self.rates = Rates()
        self.static = _read_static()

    # -- the page -------------------------------------------------------------------------------

    def static_file(self, path: str) -> Endpoint:
        content, media = self.static[path]

        async def serve_file(request: Request) -> Response:
            return Response(content, media_type=media, headers=_PAGE_HEADERS)

        return serve_file

    # -- reading -------------------------------------------------------------------------------

    async def config(self, request: Request) -> Response:
        return _json({"system": self.system.name, "control": self.token is not None})

    async def tree(self, request: Request) -> Response:
        return _json(tree_view(self.system))

    async def agents(self, request: Request) -> Response:
        return _json(agents_view(self.system, self.rates))

    async def agent(self, request: Request) -> Response:
        name = request.path_params["name"]
        detail = agent_detail(self.system, name)
        if detail is None:
            return _error(f"no live agent named {name!r:.80}", 404)
        return _json(detail)

    async def metrics(self, request: Request) -> Response:
        return _json(self.system.metrics().model_dump(mode="json"))

    async def dead_letters(self, request: Request) -> Response:
        try:
            limit = _positive_int(request.query_params.get("limit"), "limit", DEAD_LETTER_LIMIT)
        except InvalidConfig as exc:
            return _error(str(exc), 400)
        assert limit is not None  # there is a default
        return _json(dead_letters_view(self.system, limit))

    async def events(self, request: Request) -> Response:
        try:
            limit = _positive_int(request.query_params.get("limit"), "limit", None)
        except InvalidConfig as exc:
            return _error(str(exc), 400)
        body = stream(self.system, self.rates, stopping=self._stopping, limit=limit)
        headers = {**_API_HEADERS, "X-Accel-Buffering": "no"}
        return StreamingResponse(body, media_type="text/event-stream", headers=headers)

    def _stopping(self) -> bool:
        return self.closing.is_set() or self.system._runtime.shutting_down

    # -- control -------------------------------------------------------------------------------

    def _refused(self, request: Request, action: str, target: str) -> Response | None:
        """The 403 answer if the request may not control the system, else None (logged)."""
        log = logger.bind(system=self.system.name, client=_client(request))
        token = self.token
        if token is None:
            log.warning("observer: refused {} {!r}: control is off", action, target)
            return _error("control is off: the observer was started without a control_token", 403)
        given = _given_token(request)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            log.warning("observer: refused {} {!r}: missing or wrong control token", action, target)
            return _error("a valid control token is required", 403)
        log.info("observer: {} {!r} requested by {}", action, target, _client(request))
        return None

    async def stop_child(self, request: Request) -> Response:
        return await self._child(request, "stop")

    async def restart_child(self, request: Request) -> Response:
        return await self._child(request, "restart")

    async def _child(self, request: Request, action: str) -> Response:
        name = request.path_params["name"]
        refused = self._refused(request, action, name)
        if refused is not None:
            return refused
        parent = supervisors_of(self.system).get(name)
        if parent is None:
            return _error(f"no child named {name!r:.80} under any supervisor", 404)
        try:
            supervisor = self.system.supervisor(parent)
        except UnknownAddress:  # it stopped since the tree was read
            return _error(f"no child named {name!r:.80} under any supervisor", 404)

        def act() -> bool:
            if action == "stop":
                return supervisor.stop_child(name, timeout=CONTROL_TIMEOUT)
            return supervisor.restart_child(name, timeout=CONTROL_TIMEOUT)

        return await self._run(act, {"action": action, "name": name, "supervisor": parent})

    async def resize_pool(self, request: Request) -> Response:
        name = request.path_params["name"]
        refused = self._refused(request, "resize", name)
        if refused is not None:
            return refused
        pool = next((pool for pool in self.system.pools() if pool.name == name), None)
        if pool is None:
            return _error(f"no running pool named {name!r:.80}", 404)
        try:
            body = await request.json()
        except ValueError:
            body = None
        size = body.get("size") if isinstance(body, dict) else None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            return _error('the body must be JSON {"size": <an integer >= 0>}', 400)

        def act() -> bool:
            pool.resize(size, timeout=CONTROL_TIMEOUT)
            return True

        return await self._run(act, {"action": "resize", "name": name, "size": size})

    async def _run(self, act: Callable[[], bool], answer: dict[str, Any]) -> Response:
        log = logger.bind(system=self.system.name)
        try:
            done = await asyncio.to_thread(act)
        except AskTimeout as exc:
            log.warning("observer: {} {!r} timed out: {}", answer["action"], answer["name"], exc)
            return _error(str(exc), 504)
        except (PoolFull, InvalidConfig) as exc:
            return _error(str(exc), 409)
        except RegimentError as exc:
            log.warning("observer: {} {!r} failed: {!r}", answer["action"], answer["name"], exc)
            return _error(f"{type(exc).__name__}: {exc}", 409)
        if not done:
            return _error(f"{answer['name']!r:.80} is gone", 404)
        return _json({**answer, "done": True})


def build_app(system: ActorSystem, control_token: str | None, closing: Closing) -> Starlette:
    """The observer app of ``system`` (see `actors.web.observer_app`)."""
    observer = _Observer(system, control_token, closing)
    routes = [
        *(Route(f"/{path}", observer.static_file(path)) for path in _STATIC),
        Route("/api/config", observer.config),
        Route("/api/tree", observer.tree),
        Route("/api/agents", observer.agents),
        Route("/api/agents/{name}", observer.agent),
        Route("/api/metrics", observer.metrics),
        Route("/api/dead-letters", observer.dead_letters),
        Route("/api/events", observer.events),
        Route("/api/children/{name}/stop", observer.stop_child, methods=["POST"]),
        Route("/api/children/{name}/restart", observer.restart_child, methods=["POST"]),
        Route("/api/pools/{name}/resize", observer.resize_pool, methods=["POST"]),
    ]
    return Starlette(routes=routes)
