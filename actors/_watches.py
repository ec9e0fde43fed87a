"""Death watch by name: local slots directly, names on other nodes through the transport."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actors.address import validate_name
from actors.events import ExitReason

if TYPE_CHECKING:
    from actors._slot import Slot

__all__ = ["unwatch_name", "watch_name"]


def watch_name(watcher: Slot, name: str) -> None:
    """Have ``watcher`` get `Terminated` when ``name`` stops for good (at once if it is gone).

    A name another node holds is watched through the transport: the notice comes when that
    agent stops, or with reason ``node_down`` when its node stops heartbeating.

    Raises:
        InvalidAddress: if ``name`` is not a valid name.
    """
    router = watcher.runtime.router
    target = router.table.names.get(validate_name(name))
    if target is not None:
        if not target.add_watcher(watcher):
            watcher.notify_terminated(name, ExitReason.NOT_FOUND)
        return
    remote = router.remote
    if remote is None or not remote.watch(name, watcher):
        watcher.notify_terminated(name, ExitReason.NOT_FOUND)


def unwatch_name(watcher: Slot, name: str) -> None:
    """Stop watching ``name`` (nothing if it was not watched)."""
    router = watcher.runtime.router
    target = router.table.names.get(name)
    if target is not None:
        target.remove_watcher(watcher)
    elif router.remote is not None:
        router.remote.unwatch(name, watcher)
