"""`TestProbe`: a participant a test addresses, watches and questions like an agent.

Modelled on Akka's ``TestProbe``: it has a name (and roles) in the system, so agents send to
it, reply to it and broadcast to it; the test then expects what it got, in order.

```python
probe = TestProbe(system)                       # "probe-1"; TestProbe(system, "lead", ("qa",))
probe.send("coder-1", Task(title="x"))          # the agent's self.context.sender is the probe
envelope = probe.expect(Patch, diff="+ x")      # the next message: a Patch with that diff
probe.expect_no_message(within=0.1)
probe.watch("coder-1"); system.ref("coder-1").stop(5); probe.expect_terminated("coder-1")
probe.fish_for(lambda m: isinstance(m, Done), timeout=5)  # skip what comes before
probe.reply(Answer(text="yes"))                 # answers the last ask the probe took
```

Every ``expect...`` takes messages off the probe in arrival order and fails with an
`AssertionError` whose message lists what did arrive (plain ``assert`` semantics: pytest shows
it as the failure). Each waits at most its timeout; none sleeps.

A probe is an `actors.Inbox` underneath (`TestProbe.inbox`): closed by `close`, a ``with``
block, or the system's shutdown.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from actors._timeouts import check_timeout
from actors.envelope import Envelope
from actors.errors import DuplicateName, InboxEmpty
from actors.events import Terminated
from actors.messages import Message

if TYPE_CHECKING:
    from actors.address import AddressLike
    from actors.inbox import Inbox
    from actors.system import ActorSystem

__all__ = ["TestProbe"]

_numbers = itertools.count(1)
SHOWN = 10  # messages a failure message spells out


class TestProbe:
    """An inbox with expectations, for tests; see the module docstring.

    Args:
        system: the system it joins.
        name: its unique name; ``probe-<n>`` if None.
        roles: the roles it holds.

    Raises:
        DuplicateName: for a name already taken.
        InvalidAddress: for a malformed name or role.
        SystemStopped: if the system is shut down.
    """

    __test__ = False  # not a test class, whatever pytest's collection rules say

    def __init__(
        self, system: ActorSystem, name: str | None = None, roles: tuple[str, ...] = ()
    ) -> None:
        self.system = system
        self._inbox: Inbox = _open(system, name, roles)
        self._taken: list[Envelope] = []
        self._last_ask: Envelope | None = None

    def __repr__(self) -> str:
        return f"<TestProbe {self.name!r} {len(self._inbox)} pending>"

    def __enter__(self) -> TestProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        """Its name: the address agents send to."""
        return self._inbox.name

    @property
    def inbox(self) -> Inbox:
        """The `actors.Inbox` behind it (``peek``, ``len``, ``reply``, ...)."""
        return self._inbox

    @property
    def received(self) -> list[Envelope]:
        """Every envelope the probe's expectations took so far, oldest first."""
        return list(self._taken)

    # -- sending ------------------------------------------------------------------------------

    def send(self, to: AddressLike, message: Message, **options: Any) -> int:
        """Send ``message`` with the probe as sender (replies and tells back come here).

        ``options`` are `actors.Inbox.tell`'s (``priority``, ``kind``, ``reply_to``,
        ``correlation_id``).

        Returns:
            How many mailboxes took it.
        """
        return self._inbox.tell(to, message, **options)

    def reply(self, message: Any) -> bool:
        """Answer the last ask the probe took (with `expect` or `fish_for`).

        Returns:
            True if the answer was delivered (False if the asker gave up).

        Raises:
            AssertionError: if the probe took no ask yet.
        """
        if self._last_ask is None:
            msg = f"probe {self.name!r} has taken no ask to reply to; it took: {self._list()}"
            raise AssertionError(msg)
        return self._inbox.reply(self._last_ask, message)

    # -- expecting ----------------------------------------------------------------------------

    def expect(self, message_type: type[Message], timeout: float = 1.0, **fields: Any) -> Envelope:
        """Take the next message; it must be a ``message_type`` with these field values.

        Args:
            message_type: the class the message must be an instance of.
            timeout: seconds to wait for a message.
            **fields: the message's fields that must equal these values.

        Returns:
            The envelope (``.body`` is the message; ``.sender``, ``.correlation_id``, ...).

        Raises:
            AssertionError: if nothing arrived in time, or the next message does not match;
                the message names it and what else the probe got.
        """
        wanted = _describe(message_type, fields)
        envelope = self._next(timeout, wanted)
        if not _matches(envelope.body, message_type, fields):
            msg = (
                f"probe {self.name!r} expected {wanted} but got {_show(envelope)}"
                f"{self._pending()}{self._before(envelope)}"
            )
            raise AssertionError(msg)
        return envelope

    def expect_no_message(self, within: float = 0.1) -> None:
        """Check that no message arrives for ``within`` seconds.

        Raises:
            AssertionError: naming the message that arrived.
        """
        _check(within, "within")
        try:
            envelope = self._inbox.get(within)
        except InboxEmpty:
            return
        self._took(envelope)
        msg = (
            f"probe {self.name!r} expected no message for {within:g}s but got "
            f"{_show(envelope)}{self._pending()}"
        )
        raise AssertionError(msg)

    def fish_for(self, predicate: Callable[[Any], object], timeout: float = 1.0) -> Envelope:
        """Take messages until ``predicate(message)`` is true for one; skip the others.

        Returns:
            The envelope of the first message the predicate accepts.

        Raises:
            AssertionError: if none did within ``timeout``; lists what was skipped.
        """
        _check(timeout, "timeout")
        deadline = time.monotonic() + timeout
        skipped: list[Envelope] = []
        while True:
            try:
                envelope = self._inbox.get(max(0.0, deadline - time.monotonic()))
            except InboxEmpty:
                shown = "".join(f"\n  {_show(e)}" for e in skipped[-SHOWN:]) or " nothing"
                msg = (
                    f"probe {self.name!r} fished for {timeout:g}s and no message matched; "
                    f"it skipped:{shown}"
                )
                raise AssertionError(msg) from None
            self._took(envelope)
            if predicate(envelope.body):
                return envelope
            skipped.append(envelope)

    def watch(self, name: str) -> None:
        """Get `Terminated` for ``name`` when it stops for good (at once if already gone)."""
        self._inbox.watch(name)

    def unwatch(self, name: str) -> None:
        """Stop watching ``name``."""
        self._inbox.unwatch(name)

    def expect_terminated(self, name: str, timeout: float = 1.0) -> Terminated:
        """Take the next message; it must be the `Terminated` notice of ``name``.

        Call `watch` first (before the agent may stop), as with Akka's ``expectTerminated``.

        Returns:
            The notice (its ``reason`` says why the agent stopped).

        Raises:
            AssertionError: if it did not come in time or another message came first.
        """
        envelope = self.expect(Terminated, timeout, name=name)
        body = envelope.body
        assert isinstance(body, Terminated)
        return body

    def close(self) -> None:
        """Close the probe's inbox (idempotent); what is pending is dead-lettered ``stopped``."""
        self._inbox.close()

    # -- helpers ------------------------------------------------------------------------------

    def _next(self, timeout: float, wanted: str) -> Envelope:
        _check(timeout, "timeout")
        try:
            envelope = self._inbox.get(timeout)
        except InboxEmpty:
            msg = (
                f"probe {self.name!r} expected {wanted} within {timeout:g}s but nothing "
                f"arrived; earlier it took: {self._list()}"
            )
            raise AssertionError(msg) from None
        self._took(envelope)
        return envelope

    def _took(self, envelope: Envelope) -> None:
        self._taken.append(envelope)
        if envelope.future is not None:
            self._last_ask = envelope

    def _list(self) -> str:
        if not self._taken:
            return "nothing"
        return "".join(f"\n  {_show(e)}" for e in self._taken[-SHOWN:])

    def _pending(self) -> str:
        pending = self._inbox.peek()
        if not pending:
            return ""
        return "; still waiting in the probe:" + "".join(f"\n  {_show(e)}" for e in pending[:SHOWN])

    def _before(self, envelope: Envelope) -> str:
        earlier = self._taken[:-1] if self._taken and self._taken[-1] is envelope else []
        if not earlier:
            return ""
        return "; taken before it:" + "".join(f"\n  {_show(e)}" for e in earlier[-SHOWN:])


def _open(system: ActorSystem, name: str | None, roles: tuple[str, ...]) -> Inbox:
    """The probe's inbox; without a name, the first free ``probe-<n>``."""
    if name is not None:
        return system.inbox(name, roles=roles)
    while True:
        try:
            return system.inbox(f"probe-{next(_numbers)}", roles=roles)
        except DuplicateName:  # an agent (or a probe of another test) took it: skip it
            continue


def _check(seconds: float, what: str) -> None:
    check_timeout(seconds, what)


def _matches(body: object, message_type: type[Message], fields: dict[str, Any]) -> bool:
    if not isinstance(body, message_type):
        return False
    missing = object()
    return all(getattr(body, key, missing) == value for key, value in fields.items())


def _describe(message_type: type[Message], fields: dict[str, Any]) -> str:
    if not fields:
        return f"a {message_type.__name__}"
    text = ", ".join(f"{k}={v!r}" for k, v in fields.items())
    return f"a {message_type.__name__} with {text}"


def _show(envelope: Envelope) -> str:
    text = repr(envelope.body)
    if len(text) > 120:
        text = text[:117] + "..."
    ask = " (an ask)" if envelope.future is not None else ""
    return f"{text} from {envelope.sender or 'outside'}{ask}"
