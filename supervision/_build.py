"""Slots from specs: a validated spec's whole subtree, built without starting anything.

Building comes before starting so that every name of a new subtree can be registered in one
atomic step before the first agent starts. A supervisor's slot runs whatever
``make_supervisor(spec)`` returns: the caller (`supervision.supervisor`) passes its own class,
so this module does not import it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from actors._spi import Agent, Runtime, Slot, SlotOptions
from actors.mailbox import Mailbox
from supervision.spec import ChildSpec, SupervisorSpec

__all__ = ["build"]

_auto = itertools.count(1)


def build(
    runtime: Runtime,
    spec: ChildSpec | SupervisorSpec,
    parent: Slot,
    make_supervisor: Callable[[SupervisorSpec], Agent],
) -> Slot:
    """Create (without starting) the slots of ``spec``'s subtree under ``parent``.

    Returns:
        The subtree's top slot; ``slot.subtree()`` lists them all, parents first.
    """
    if isinstance(spec, SupervisorSpec):
        slot = Slot(
            runtime,
            spec.name,
            kind="supervisor",
            roles=frozenset(),
            factory=lambda: make_supervisor(spec),
            mailbox=Mailbox(),
            parent=parent,
            options=SlotOptions(
                shutdown_timeout=spec.shutdown_timeout, start_timeout=_start_budget(spec)
            ),
            spec=spec,
        )
        slot.children = {
            build(runtime, child, slot, make_supervisor): None for child in spec.children
        }
        return slot
    return Slot(
        runtime,
        spec.name or _auto_name(spec),
        kind="agent",
        roles=spec.effective_roles(),
        factory=lambda: spec.factory(*spec.args, **spec.kwargs),
        mailbox=spec.effective_mailbox(),
        parent=parent,
        options=SlotOptions(
            keep_mailbox=spec.keep_mailbox,
            retry_failed=spec.retry_failed,
            restart_on_ask_error=spec.restart_on_ask_error,
            max_messages=spec.max_messages,
            flight_recorder=spec.flight_recorder,
            durable=spec.durable,
            shutdown_timeout=spec.shutdown_timeout,
            start_timeout=spec.start_timeout,
        ),
        spec=spec,
    )


def _start_budget(spec: ChildSpec | SupervisorSpec) -> float:
    """How long starting ``spec`` may take: its children start one after another."""
    if isinstance(spec, ChildSpec):
        return spec.start_timeout
    return 5.0 + sum(_start_budget(child) for child in spec.children)


def _auto_name(spec: ChildSpec) -> str:
    base = getattr(spec.factory, "__name__", "agent")
    slug = re.sub(r"[^a-z0-9_-]+", "-", re.sub(r"(?<!^)(?=[A-Z])", "-", base).lower()).strip("-")
    return f"{slug[:48] or 'agent'}-{next(_auto)}"
