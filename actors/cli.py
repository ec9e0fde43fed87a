"""The ``regiment`` command: ``regiment demo`` runs the demo team."""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from loguru import logger

from actors.demo import run_demo

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="regiment", description=__doc__)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="run a small team that exercises every addressing mode")
    demo.add_argument(
        "--log-level",
        default="CRITICAL",
        help="show regiment's own log lines from this level up (e.g. INFO); default: none",
    )
    args = parser.parse_args(argv)
    if args.version:
        try:
            print(version("regiment"))
        except PackageNotFoundError:
            print("unknown")
        return 0
    if args.command == "demo":
        # The command line is the application here, so it owns the loguru sinks.
        logger.remove()
        logger.add(sys.stderr, level=args.log_level.upper(), backtrace=False, diagnose=False)
        return run_demo()
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
