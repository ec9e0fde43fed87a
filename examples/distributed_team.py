"""The code-review team of ``code_review_team.py``, across three processes joined through NATS.

The main process starts a nats-server of its own (127.0.0.1, a free port, JetStream on, in a
temporary directory) and runs the lead: the orchestrator. Then it starts this same file twice
more, as two worker processes: ``--role coders`` runs the coders under their own supervisor,
``--role reviewers`` the reviewer. Every process builds an `ActorSystem` with the same
`NatsTransport` settings and the same publish routes, so together they are one cluster, and no
agent knows where the others run:

- the orchestrator sends tasks to ``role:backend``, ``role:frontend`` and ``role:coder``:
  nobody in its process holds those roles, so each goes to the role's NATS queue group and
  exactly one coder, in the coders' process, gets it;
- a coder publishes its `Artifact`, routed to ``"*"``: every agent of every process gets it
  once (the author excluded): the other coder, the reviewer, the orchestrator;
- the reviewer publishes a `Verdict`, routed to ``role:lead``: the orchestrator, two processes
  away;
- one coder crashes on a flaky task. Its supervisor, in the coders' process, restarts it and
  the task is redelivered there (supervision stays local); an `AgentCrashed` tap in that
  process publishes an `ErrorReport` to ``role:lead``, so the failure is seen in the main
  process.

The main process waits until the workers' roles show up in ``system.nodes()``, asks the
orchestrator for the plan's summary, prints every node's tree (``system.cluster_tree()``),
then stops the workers (it closes their stdin: a worker whose parent dies stops too), its own
system and the server, killing whatever does not stop in time.

Run it with ``python examples/distributed_team.py``; without ``nats-server`` installed
(Debian: ``apt-get install nats-server``) pass ``--servers nats://127.0.0.1:4222`` to use a
server you run yourself, with JetStream enabled.

Shows: `NatsTransport`, addressing by name, role and broadcast across processes, a deferred
reply across processes, `system.nodes()`, `system.cluster_tree()`, clean shutdown of a
multi-process cluster.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from code_review_team import (  # this file's folder is on sys.path when it runs
    Artifact,
    Coder,
    ErrorReport,
    Flakiness,
    Orchestrator,
    Plan,
    Reviewer,
    Summary,
    Verdict,
    Work,
)

from actors import (
    ActorSystem,
    AgentCrashed,
    Route,
    TransportError,
)
from actors.nats import NatsTransport
from supervision import ChildSpec, RestartPolicy, SupervisorSpec

HOST = "127.0.0.1"  # the example's own server listens here only
WAIT = 20.0  # seconds any one step may take before the example gives up
TTL = 2.0  # heartbeat TTL: a worker that dies without a goodbye is down within 2 s

# The team's messages and agents are code_review_team.py's own: every process imports them from
# that module, so their type names (module and class) are the same on every node.
ROUTES = [  # the same in every process: a process publishes through its own routes
    Route(Artifact, to="*"),  # every agent of every process, the author excluded
    Route(Verdict, to="role:lead"),
    Route(ErrorReport, to="role:lead"),
]


# -- the processes -----------------------------------------------------------------------------


def join(name: str, servers: list[str], cluster: str) -> ActorSystem:
    """This process's system, joined to the cluster (every process: the same settings)."""
    transport = NatsTransport(servers, cluster=cluster, ttl=TTL)
    return ActorSystem(name, routes=ROUTES, transport=transport)


def coders(system: ActorSystem) -> None:
    """The coders' process: two coders under a supervisor of their own, in this process."""

    def report(crash: AgentCrashed) -> None:
        # Inline: runs in the supervisor's thread before the restart, so the report leaves
        # this process before the redelivered task can produce an artifact (and a verdict).
        system.publish(ErrorReport(agent=crash.name, error=crash.error, directive=crash.directive))

    system.events.subscribe(report, AgentCrashed, inline=True)
    flaky = Flakiness("migrate the schema")
    system.start_tree(
        SupervisorSpec(
            "coders",
            children=[
                ChildSpec(
                    Coder, flaky, name="coder-be", roles=("coder", "backend"), retry_failed=1
                ),
                ChildSpec(Coder, flaky, name="coder-fe", roles=("coder", "frontend")),
            ],
            policy=RestartPolicy(max_restarts=3, within=10.0),
        )
    )


def reviewers(system: ActorSystem) -> None:
    """The reviewers' process: one reviewer."""
    system.spawn(Reviewer, name="reviewer")


WORKERS = {"coders": coders, "reviewers": reviewers}


def worker(role: str, servers: list[str], cluster: str) -> int:
    """A worker process: join, start its agents, run until stdin closes (the parent's signal)."""
    with join(f"review-{role}", servers, cluster) as system:
        WORKERS[role](system)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole group
            sys.stdin.read()  # returns at EOF: the parent closed the pipe, or it died
    return 0


def lead(servers: list[str], cluster: str) -> Summary:
    """The main process: the orchestrator here, the coders and the reviewer in two workers."""
    with join("review-lead", servers, cluster) as system:
        system.spawn(Orchestrator, name="orchestrator")  # before the workers: they see "lead"
        with start_workers(servers, cluster) as processes:
            wait_for_roles(system, {"backend", "frontend", "coder", "reviewer"}, processes)
            for info in system.nodes():
                where = "this process" if info.local else f"pid {info.pid}"
                print(f"node {info.system} ({where}): roles {', '.join(info.roles)}")
            plan = Plan(
                work=[
                    Work(title="add the /health endpoint", role="backend"),
                    Work(title="migrate the schema", role="backend"),
                    Work(title="restyle the login page", role="frontend"),
                    Work(title="update the docs", role="coder"),
                ]
            )
            summary = system.ask("orchestrator", plan, timeout=WAIT)
            assert isinstance(summary, Summary)
            systems = {info.node: info.system for info in system.nodes()}
            print("every node's tree (system.cluster_tree()):")
            for node, tree in sorted(system.cluster_tree().items(), key=lambda i: systems[i[0]]):
                print(f"  {systems[node]}:")
                for line in tree_lines(tree, "    "):
                    print(line)
    return summary


@contextlib.contextmanager
def start_workers(servers: list[str], cluster: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start the two worker processes; on the way out, stop them (killing them if need be)."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for role in WORKERS:
            command = [sys.executable, __file__, "--role", role, "--cluster", cluster]
            command += ["--servers", *servers]
            processes.append(subprocess.Popen(command, stdin=subprocess.PIPE))
        yield processes
    finally:
        for process in processes:  # closing stdin asks each worker to shut down cleanly
            if process.stdin is not None:
                with contextlib.suppress(OSError):
                    process.stdin.close()
        for process in processes:
            try:
                process.wait(WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(WAIT)


def wait_for_roles(
    system: ActorSystem, roles: set[str], processes: list[subprocess.Popen[bytes]]
) -> None:
    """Wait until other nodes hold every role in ``roles`` (a worker that exits fails it)."""
    deadline = time.monotonic() + WAIT
    while True:
        held = {role for info in system.nodes() if not info.local for role in info.roles}
        if roles <= held:
            return
        for process in processes:
            if process.poll() is not None:
                msg = f"a worker process exited with status {process.returncode}"
                raise RuntimeError(msg)
        if time.monotonic() > deadline:
            msg = f"the workers' roles {sorted(roles - held)} never showed up within {WAIT} s"
            raise RuntimeError(msg)
        time.sleep(0.05)  # polling the registry cache: a plain dict read


def tree_lines(tree: dict[str, Any], indent: str) -> Iterator[str]:
    """One line per slot of a tree as `TreeNode.to_dict` gives it, children indented."""
    roles = f" roles={','.join(tree['roles'])}" if tree["roles"] else ""
    yield f"{indent}{tree['name']} [{tree['kind']}] restarts={tree['restarts']}{roles}"
    for child in tree["children"]:
        yield from tree_lines(child, indent + "  ")


# -- the server --------------------------------------------------------------------------------


def nats_server_binary() -> str | None:
    """The nats-server executable (Debian installs it in /usr/sbin), or None."""
    found = shutil.which("nats-server")
    for candidate in (found, "/usr/sbin/nats-server", "/usr/bin/nats-server"):
        if candidate is not None and Path(candidate).is_file():
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def nats_server(binary: str) -> Iterator[str]:
    """A nats-server with JetStream on free 127.0.0.1 ports; yields its URL, stops it after."""
    with tempfile.TemporaryDirectory(prefix="distributed-team-") as folder:
        directory = Path(folder)
        port, monitor = free_port(), free_port()
        config = directory / "nats.conf"
        config.write_text(
            f"listen: {HOST}:{port}\n"
            f"http: {HOST}:{monitor}\n"  # /healthz: ready once JetStream is
            f'jetstream {{ store_dir: "{directory / "jetstream"}" }}\n'
        )
        log = directory / "nats.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [binary, "-c", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        try:
            wait_healthy(process, f"http://{HOST}:{monitor}/healthz", log)
            yield f"nats://{HOST}:{port}"
        finally:
            process.terminate()
            try:
                process.wait(WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(WAIT)


def die_with_parent() -> None:
    """In the server's process, before it runs: get SIGTERM when this process dies (Linux).

    So even a SIGKILLed example leaves no server behind (the workers stop on their own: their
    stdin closes). Runs before any thread of this process starts.
    """
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and process.poll() is None:
        with (
            contextlib.suppress(urllib.error.URLError, OSError),
            urllib.request.urlopen(url, timeout=1.0) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:]
    msg = f"nats-server did not become ready within {WAIT} s; its log:\n{tail}"
    raise RuntimeError(msg)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--servers", nargs="+", help="use these NATS servers (JetStream on)")
    parser.add_argument("--cluster", default="review", help="the cluster's name")
    parser.add_argument("--role", choices=sorted(WORKERS), help=argparse.SUPPRESS)  # workers
    args = parser.parse_args()
    if args.role is not None:
        return worker(args.role, args.servers or ["nats://127.0.0.1:4222"], args.cluster)
    # SIGTERM unwinds like Ctrl-C: the workers and the server are stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with contextlib.ExitStack() as stack:
        servers = args.servers
        if servers is None:
            binary = nats_server_binary()
            if binary is None:
                print(
                    "nats-server is not installed, so this example cannot start one. Install it "
                    "(Debian: apt-get install nats-server), or run a server with JetStream "
                    "enabled yourself and pass --servers nats://127.0.0.1:4222"
                )
                return 0
            servers = [stack.enter_context(nats_server(binary))]
        try:
            summary = lead(servers, args.cluster)
        except TransportError as error:  # no server there, or JetStream is off
            print(f"cannot join the cluster: {error}", file=sys.stderr)
            return 1
    print("summary:")
    for title in summary.approved:
        print(f"  approved: {title}")
    print(f"  revisions: {summary.revisions}")
    for error in summary.errors:
        print(f"  error report: {error}")
    assert len(summary.approved) == 4
    assert summary.revisions == 1
    assert summary.errors == ["coder-be: ConnectionError('test database unreachable')"]
    print(
        "distributed review finished: 4 tasks approved, 1 revision, 1 crash reported and "
        "recovered, across 3 processes"
    )
    return 0


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # this example prints its own story (the crash is logged at ERROR otherwise)
    sys.exit(main())
