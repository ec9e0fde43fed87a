"""The observer: a live web page of a running system, and the JSON endpoints behind it.

Needs Starlette, and uvicorn to serve it on its own (``pip install 'regiment[web]'``). Only
this package imports them, when one of its functions is called: ``import actors`` does not.

```python
from actors.web import observer_app, serve

# 1. Inside your own Starlette or FastAPI application, under a prefix of your choice:
app.mount("/regiment", observer_app(system))             # then open /regiment/

# 2. On a thread of its own, for threaded services and scripts:
url = serve(system, port=8000)                           # "http://127.0.0.1:8000/"
...
url.stop()                                               # or let system.shutdown() stop it
```

From the shell, ``regiment observe myapp:build`` serves the system ``myapp.build()`` returns
until Ctrl-C (`actors.cli`).

**The page** (static HTML, CSS and plain JavaScript shipped in this package: no build step,
nothing fetched from elsewhere) draws the supervision tree (supervisors and agents, their
roles, status as a colour, restarts, each supervisor's restart budget and each agent's
mailbox depth as a bar), a table of the agents sortable by mailbox depth, handled/s or
failures, the recent dead letters with their reasons, and a feed of crashes, restarts,
stops and escalations. A crashed agent's node flashes the failed colour. Clicking an agent
shows its `actors.AgentRef.info` and its flight recording (`actors.AgentRef.recent`).
Everything the system provides (names, reasons, exception messages, message bodies) is
inserted as text, never as HTML, and the page's Content-Security-Policy allows no script
but its own.

**Endpoints** (relative to where the app is mounted; all ``GET``, JSON unless said; the
fields are listed in the how-to guide "Observing a running system"):

- ``api/config``: the system's name, and whether control is on.
- ``api/tree``: `supervision.TreeNode.to_dict` of the tree, each pool's supervisor marked
  with its pool (role, size, max_size).
- ``api/agents``: one row per live agent: status, mailbox depth, counts, handled/s,
  handling-time percentiles, supervisor.
- ``api/agents/{name}``: its `actors.AgentInfo`, flight recording (`actors.HandledMessage`)
  and `actors.AgentMetrics`; 404 if no live agent has that name.
- ``api/metrics``: `actors.MetricsSnapshot` as JSON.
- ``api/dead-letters?limit=100``: counts by reason since the start, and the newest dead
  letters first (reason, detail, type, sender, recipient, the body as JSON cut short).
- ``api/events``: Server-Sent Events (``text/event-stream``); ``?limit=N`` ends the stream
  after N updates.

``api/events`` sends an ``update`` event at most every 0.25 s while events arrive, and at
least every second: ``{"seq", "events", "dropped", "tree", "agents"}`` plus
``"dead_letters"`` (as ``api/dead-letters?limit=30``) whenever their count moved. ``events``
are feed lines ``{"type", "at", "name", "text"}`` for `actors.AgentCrashed`,
`actors.AgentRestarted`, `actors.AgentStarted`, `actors.AgentStopped`, `actors.Escalated`
and `actors.SystemFailed` (at most 100 per update; ``dropped`` counts the rest and what a
burst of more than 2,000 events between two updates lost). Traffic events are never
subscribed to, so a busy system costs the stream nothing per message. When the server stops
or the system shuts down, a last ``update`` and a ``stopped`` event end the stream.

**Control is off by default.** With ``control_token``, the page offers to stop or restart a
child (through its supervisor) and to resize a pool, through these ``POST`` endpoints:

- ``api/children/{name}/stop``: `supervision.SupervisorRef.stop_child`, by its supervisor;
- ``api/children/{name}/restart``: `supervision.SupervisorRef.restart_child` (not charged
  to the budget);
- ``api/pools/{name}/resize``: `supervision.PoolRef.resize`, body ``{"size": n}``.

Each must carry the token as ``Authorization: Bearer <token>`` (or ``X-Regiment-Token:
<token>``), compared in constant time; without it (or without a token configured) the answer
is 403. Every control request is logged (loguru, under ``actors.web``): INFO when accepted,
WARNING when refused; the token is never logged. Other answers: 404 for an unknown child or
pool, 400 for a bad body, 409 when the call failed (``PoolFull``, ``StartFailed``, ...), 504
when it took longer than 10 s. The page asks for the token (or takes it from its URL's
fragment, ``#token=...``, which the browser never sends to the server) and sends it with
every control request. Serve the page over HTTPS (a reverse proxy) beyond localhost when
control is on.

**Threads.** Endpoints read the system through its snapshots (`actors.ActorSystem.tree`,
``metrics``, ``agents``, ``dead_letters``, `actors.AgentRef.info`, ``recent``), never an
agent's state; control calls go through the supervisors (which act in their own threads)
from a worker thread of the server's event loop. `serve` runs uvicorn on one thread, named
``regiment:<system>/web``, joined by `ObserverURL.stop` or by the system's shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors._extras import need
from actors.errors import InvalidConfig, SystemStopped
from actors.web._feed import Closing
from actors.web._server import ObserverURL, start

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from actors.system import ActorSystem

__all__ = ["ObserverURL", "observer_app", "serve"]


def _check(system: object, control_token: object) -> None:
    from actors.system import ActorSystem  # noqa: PLC0415 - the facade, for the check only

    if not isinstance(system, ActorSystem):
        msg = f"the observer needs an ActorSystem, got {system!r:.80}"
        raise InvalidConfig(msg)
    if control_token is not None and (not isinstance(control_token, str) or not control_token):
        msg = "control_token must be a non-empty str, or None to turn control off"
        raise InvalidConfig(msg)


def _build(system: ActorSystem, control_token: str | None, closing: Closing | None) -> Starlette:
    need("starlette", "web", "the observer (actors.web)")
    from actors.web._app import build_app  # noqa: PLC0415 - imports starlette

    return build_app(system, control_token, Closing() if closing is None else closing)


def observer_app(system: ActorSystem, *, control_token: str | None = None) -> Starlette:
    """The observer of ``system`` as a Starlette (ASGI) app, to mount or run as you like.

    ``app.mount("/regiment", observer_app(system))`` serves the page at ``/regiment/`` and
    the endpoints below it (see the module docstring); the page uses relative URLs only, so
    any prefix works. Building it starts nothing; its endpoints run on the server's event
    loop and never block it.

    Args:
        system: the system to show.
        control_token: turns control on (stop, restart, resize from the page): every control
            request must carry this token. None (the default): control is off.

    Returns:
        A `starlette.applications.Starlette` application.

    Raises:
        MissingExtra: if Starlette is not installed (``pip install 'regiment[web]'``).
        InvalidConfig: if ``system`` is not an `ActorSystem` or ``control_token`` is not a
            non-empty str.
    """
    _check(system, control_token)
    return _build(system, control_token, None)


def serve(
    system: ActorSystem,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    control_token: str | None = None,
) -> ObserverURL:
    """Serve the observer of ``system`` with uvicorn on a background thread; return its URL.

    The server runs until `ObserverURL.stop`, or until the system shuts down (its last
    step stops the server and joins its thread). Each call starts another server.

    Args:
        system: the system to show.
        host: the address to listen on (``"0.0.0.0"`` or ``"::"``: every interface; put the
            page behind HTTPS if it is reachable from elsewhere and control is on).
        port: the TCP port; 0 picks a free one.
        control_token: as for `observer_app`.

    Returns:
        The page's URL (``"http://127.0.0.1:<port>/"``), a `str` with ``stop()``.

    Raises:
        MissingExtra: if Starlette or uvicorn is not installed (``pip install 'regiment[web]'``).
        InvalidConfig: for a bad ``system``, ``control_token`` or ``port``.
        SystemStopped: if the system is shut down (or shutting down).
        OSError: if the address cannot be bound (the port is taken, say).
    """
    _check(system, control_token)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        msg = f"port must be an int in 0..65535 (0: any free port), got {port!r:.40}"
        raise InvalidConfig(msg)
    if system._runtime.shutting_down:
        msg = f"system {system.name!r} is shut down; it serves no observer"
        raise SystemStopped(msg)
    need("starlette", "web", "the observer (actors.web)")
    need("uvicorn", "web", "actors.web.serve")
    return start(system, lambda closing: _build(system, control_token, closing), host, port)
