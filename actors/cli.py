"""The ``regiment`` command: run the demo, print a system's tree, watch its agents live.

- ``regiment demo``: the demo team (`actors.demo`); needs nothing beyond regiment itself.
- ``regiment tree APP [--format text|mermaid|json]``: print the supervision tree of the
  system ``APP`` gives, with every slot's status and every supervisor's restart budget.
- ``regiment top APP [--interval SECONDS] [--once]``: a live view of its agents (needs rich,
  ``pip install 'regiment[cli]'``), until Ctrl-C.
- ``regiment observe APP [--host HOST] [--port PORT] [--control-token TOKEN]``: serve the
  observer page of its system (`actors.web`; needs ``pip install 'regiment[web]'``) and print
  its URL as the first line of output, until Ctrl-C. The control token may also come from the
  environment variable ``REGIMENT_CONTROL_TOKEN`` (out of sight of ``ps``).

``APP`` is ``module:attribute`` (like ``uvicorn module:app``): an `ActorSystem`, or a function
returning a started one (see `actors._app`). The command started that system, so it shuts it
down before it exits: ``tree`` after printing, ``top`` and ``observe`` on Ctrl-C (SIGINT), or
when the system stops on its own.

Exit status: 0 on success; 1 if the system did not shut down cleanly; 2 for a usage error, an
``APP`` that gives no started system, or a missing extra (a ``regiment: ...`` line on stderr,
no traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from loguru import logger

from actors._app import AppError, load_app
from actors._extras import need
from actors._top import run_top
from actors.demo import run_demo
from actors.errors import MissingExtra
from actors.system import ActorSystem
from actors.web import serve

__all__ = ["main"]

_DESCRIPTION = "Run regiment's demo, or inspect an actor system that your code builds."

_EPILOG = """\
APP is MODULE:ATTRIBUTE, like uvicorn's: an ActorSystem, or a function that
returns a started one. The current directory is searched first for MODULE.

examples:
  regiment demo
  regiment tree myapp:build --format mermaid
  regiment top myapp:build --interval 0.5
  regiment observe myapp:build --port 8000
"""

_USAGE_ERROR = 2
CONTROL_TOKEN_VARIABLE = "REGIMENT_CONTROL_TOKEN"  # where `observe` also finds its token


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regiment",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    logs = argparse.ArgumentParser(add_help=False)
    logs.add_argument(
        "--log-level",
        default="CRITICAL",
        help="show regiment's own log lines from this level up (e.g. INFO); default: none",
    )
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    sub.add_parser(
        "demo",
        parents=[logs],
        help="run a small team that exercises every addressing mode",
        description="Run a small team that exercises every addressing mode.",
    )
    tree = sub.add_parser(
        "tree",
        parents=[logs],
        help="print the supervision tree of APP's system, with status and budgets",
        description="Print the supervision tree of APP's system, then shut the system down.",
    )
    tree.add_argument("app", metavar="APP", help="MODULE:ATTRIBUTE giving a started ActorSystem")
    tree.add_argument(
        "--format",
        choices=("text", "mermaid", "json"),
        default="text",
        help="indented text (default), a Mermaid graph, or JSON",
    )
    top = sub.add_parser(
        "top",
        parents=[logs],
        help="watch APP's agents live: status, mailbox, handled/s, restarts (Ctrl-C stops)",
        description=(
            "Watch APP's agents live until Ctrl-C, then shut the system down. "
            "Needs rich: pip install 'regiment[cli]'."
        ),
    )
    top.add_argument("app", metavar="APP", help="MODULE:ATTRIBUTE giving a started ActorSystem")
    top.add_argument(
        "--interval",
        type=_seconds,
        default=1.0,
        metavar="SECONDS",
        help="seconds between refreshes (default: 1.0)",
    )
    top.add_argument(
        "--once", action="store_true", help="print one frame (after one interval) and exit"
    )
    observe = sub.add_parser(
        "observe",
        parents=[logs],
        help="serve a live web page of APP's system: tree, agents, dead letters (Ctrl-C stops)",
        description=(
            "Serve the observer page of APP's system and print its URL, until Ctrl-C; then "
            "shut the system down. Needs: pip install 'regiment[web]'."
        ),
    )
    observe.add_argument("app", metavar="APP", help="MODULE:ATTRIBUTE giving a started ActorSystem")
    observe.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    observe.add_argument(
        "--port", type=_port, default=8000, help="TCP port (default: 8000; 0: any free port)"
    )
    observe.add_argument(
        "--control-token",
        default=os.environ.get(CONTROL_TOKEN_VARIABLE) or None,
        metavar="TOKEN",
        help=(
            "turn control on (stop, restart, resize from the page) for requests carrying "
            f"TOKEN; default: ${CONTROL_TOKEN_VARIABLE} if set, else control is off"
        ),
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line (the calling thread); returns the exit status.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 if the inspected system did not shut down cleanly, 2 for a usage
        error, an unusable ``APP`` or a missing extra.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        try:
            print(version("regiment"))
        except PackageNotFoundError:
            print("unknown")
        return 0
    if args.command is None:
        parser.print_help()
        return _USAGE_ERROR
    # The command line is the application here, so it owns the loguru sinks.
    logger.remove()
    logger.add(sys.stderr, level=args.log_level.upper(), backtrace=False, diagnose=False)
    if args.command == "demo":
        return run_demo()
    try:
        if args.command == "top":
            need("rich", "cli", "regiment top")  # before the app starts anything
        if args.command == "observe":
            need("starlette", "web", "regiment observe")
            need("uvicorn", "web", "regiment observe")
        system = _load_system(args.app)
    except (AppError, MissingExtra) as exc:
        print(f"regiment: {exc}", file=sys.stderr)
        return _USAGE_ERROR
    if args.command == "tree":
        return _tree(system, args.format)
    if args.command == "observe":
        return _observe(system, args.host, args.port, args.control_token)
    return _top(system, args.interval, once=args.once)


def _load_system(app: str) -> ActorSystem:
    system = load_app(app, ActorSystem)
    if system.wait(0):
        msg = f"{app} gave system {system.name!r}, which is already shut down"
        raise AppError(msg, app)
    return system


def _tree(system: ActorSystem, form: str) -> int:
    try:
        tree = system.tree()
    finally:
        clean = system.shutdown()
    if form == "json":
        print(tree.to_json(indent=2))
    elif form == "mermaid":
        print(tree.mermaid(status=True))
    else:
        print(tree.render(status=True))
    if not clean:
        print(f"regiment: system {system.name!r} did not shut down cleanly", file=sys.stderr)
        return 1
    return 0


def _top(system: ActorSystem, interval: float, *, once: bool) -> int:
    try:
        run_top(system, interval=interval, once=once)
    finally:
        clean = system.shutdown()
    if not clean:
        print(f"regiment: system {system.name!r} did not shut down cleanly", file=sys.stderr)
        return 1
    print(f"system {system.name!r} shut down cleanly")
    return 0


def _observe(system: ActorSystem, host: str, port: int, token: str | None) -> int:
    try:
        try:
            url = serve(system, host=host, port=port, control_token=token)
        except OSError as exc:
            print(
                f"regiment: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr
            )
            return _USAGE_ERROR
        print(url, flush=True)  # the first line: scripts read the URL from it
        control = "control on" if token else "control off"
        print(f"observing system {system.name!r} ({control}); Ctrl-C stops", flush=True)
        try:
            while not system.wait(1.0):  # until Ctrl-C, or the system stops on its own
                pass
        except KeyboardInterrupt:
            pass
    finally:
        clean = system.shutdown()  # also stops the server and joins its thread
    if not clean:
        print(f"regiment: system {system.name!r} did not shut down cleanly", file=sys.stderr)
        return 1
    print(f"system {system.name!r} shut down cleanly")
    return 0


def _port(text: str) -> int:
    """A ``--port``: an integer in 0..65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        msg = f"must be a TCP port number in 0..65535, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _seconds(text: str) -> float:
    """An ``--interval``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        msg = f"must be a positive number of seconds, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
