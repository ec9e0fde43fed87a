"""Optional dependencies: import one, or say which extra installs it.

regiment's core needs only pykka, pydantic and loguru. The live view of ``regiment top`` and
``run_until(progress=True)`` draw with ``rich`` (the ``cli`` extra); they import it through
`need` when they start, so ``import actors`` and ``regiment demo`` never do.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from actors.errors import MissingExtra

__all__ = ["need"]


def need(module: str, extra: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature``, which the ``extra`` extra installs.

    Raises:
        MissingExtra: if ``module`` cannot be imported; its message names the pip command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        msg = f"{feature} needs {top}, which is not installed: pip install 'regiment[{extra}]'"
        raise MissingExtra(msg, top, extra) from exc
