"""Route pykka's standard-library log records into loguru.

pykka logs through ``logging.getLogger("pykka")``. regiment forwards those records to loguru
(keeping their level and origin) with a handler on that one logger, and stops them from also
propagating to the root logger. It never adds or removes loguru sinks: where the records end
up is the application's choice.
"""

from __future__ import annotations

import logging
import threading

from loguru import logger

__all__ = ["InterceptHandler", "route_pykka_logging"]

_lock = threading.Lock()


class InterceptHandler(logging.Handler):
    """A `logging.Handler` that re-emits records through loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        """Forward ``record`` to loguru at the same level, attributed to its origin."""
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).bind(origin=record.name).log(
            level, record.getMessage()
        )


def route_pykka_logging() -> None:
    """Install the intercept on the ``pykka`` logger once (idempotent, thread-safe)."""
    pykka_logger = logging.getLogger("pykka")
    with _lock:
        if any(isinstance(h, InterceptHandler) for h in pykka_logger.handlers):
            return
        pykka_logger.addHandler(InterceptHandler())
        pykka_logger.propagate = False
