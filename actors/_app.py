"""Find the application the command line inspects: ``APP`` is ``module:attribute``.

As ``uvicorn module:app`` does: the current directory goes first on ``sys.path``, the module is
imported, the attribute (dotted for a nested one: ``module:factory.build``) is looked up, and
if it is callable it is called with no arguments. What results must be an instance of the
expected type (the command line asks for an `ActorSystem`); anything else is an `AppError`
whose message says what was wrong.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TypeVar

from actors.errors import RegimentError

__all__ = ["AppError", "load_app"]

T = TypeVar("T")


class AppError(RegimentError):
    """``APP`` does not name a usable application (the message says why).

    Attributes:
        app: the ``module:attribute`` text as given.
    """

    def __init__(self, message: str, app: str) -> None:
        super().__init__(message)
        self.app = app


def load_app(app: str, expected: type[T]) -> T:
    """Import ``module``, look ``attribute`` up, call it if callable; return the result.

    Runs in the calling thread; the module's import and the call run there too.

    Raises:
        AppError: malformed ``app``, a module that cannot be imported (or raised while
            importing), a missing attribute, a call that raised, or a result that is not an
            instance of ``expected``.
    """
    module_name, colon, attribute = app.partition(":")
    if not colon or not module_name or not attribute:
        msg = f"APP must be MODULE:ATTRIBUTE (like myapp:build), got {app!r}"
        raise AppError(msg, app)
    here = os.getcwd()
    if here not in sys.path:
        sys.path.insert(0, here)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or not _is_parent(exc.name, module_name):
            raise _raised(f"importing {module_name!r}", exc, app) from exc
        msg = f"cannot import module {module_name!r} ({exc})"
        raise AppError(msg, app) from exc
    except Exception as exc:
        raise _raised(f"importing {module_name!r}", exc, app) from exc
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            msg = f"module {module_name!r} has no attribute {attribute!r}"
            raise AppError(msg, app)
        found = getattr(found, part)
    if callable(found) and not isinstance(found, expected):
        try:
            found = found()
        except Exception as exc:
            raise _raised(f"calling {app}", exc, app) from exc
    if not isinstance(found, expected):
        msg = f"{app} gave {type(found).__name__} {found!r:.60}, not an {expected.__name__}"
        raise AppError(msg, app)
    return found


def _is_parent(missing: str, module: str) -> bool:
    """True if the missing module is ``module`` itself or one of its packages."""
    return module == missing or module.startswith(missing + ".")


def _raised(doing: str, exc: Exception, app: str) -> AppError:
    return AppError(f"{doing} raised {type(exc).__name__}: {exc}", app)
