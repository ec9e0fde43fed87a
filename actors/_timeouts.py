"""Checking the ``timeout=`` values of the public API, where they are given.

Every blocking call takes a timeout. A negative, NaN or infinite one would otherwise surface
deep inside `threading` as a raw `ValueError` or `OverflowError`; here it becomes an
`InvalidConfig` naming the parameter, raised in the caller's frame.
"""

from __future__ import annotations

import threading

from actors.errors import InvalidConfig

__all__ = ["check_timeout"]

_MAX = threading.TIMEOUT_MAX


def check_timeout(value: float | None, name: str = "timeout") -> float | None:
    """Return ``value`` if it is None or a finite number of seconds >= 0.

    Raises:
        InvalidConfig: naming ``name``, for a negative, NaN, infinite or non-numeric value.
    """
    if value is None:
        return None
    if type(value) is float or type(value) is int:
        if 0 <= value <= _MAX:  # False for NaN
            return value
    elif isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= _MAX:
        return value
    msg = f"{name} must be a finite number of seconds >= 0 (or None), got {value!r}"
    raise InvalidConfig(msg)
