"""The message log: every envelope a system sends, counted, kept (the newest N), queryable.

``ActorSystem(message_log=10_000)`` keeps the last 10,000 envelopes sent, in send order, in a
`MessageLog` (``system.message_log``); ``0`` (the default) keeps none and costs nothing.

```python
with actors.ActorSystem("app", message_log=10_000) as system:
    ...
    log = system.message_log
    log.count()                                   # every send so far, however many were dropped
    log.query(correlation_id=conversation, limit=20)  # the last 20 of one conversation
    log.export_jsonl("messages.jsonl")            # one Envelope.to_json() a line
    envelopes = actors.read_jsonl("messages.jsonl")
    log.clear()                                   # forget them all, the count too
```

What is logged: one entry per send, at the point `MessageSent` would be announced, that is
after the address was resolved and the send policy passed, before the envelope reaches any
mailbox. So a tell, an ask and a broadcast are each one entry (a broadcast to five agents is
logged once, not five times), and a send nobody could take (a dead letter: unknown name, no
holder of the role, a stopped agent, a full mailbox) is logged too: it was sent. A send the
caller got an exception for instead (a policy refusal, an ask to an unknown address or to
itself, a malformed address or body) made no envelope that went anywhere and is not logged.

The log holds the envelopes themselves, no copy (as the flight recorder does): their bodies
are immutable messages, so an entry reads as it was sent. An ask's envelope holds its reply
future; the JSON export leaves it out (as `Envelope.to_json` always does).

Design: the router appends the envelope itself from the send path, guarded by one flag of the
runtime's `Tap` (``tap.log``) that is folded into the router's single "detour" flag. With the
log off that flag stays False and the fast path of a plain tell is exactly what it was. The log
is not a subscriber to `MessageSent`: that event carries a summary of the envelope, not the
envelope, and building an event per send would cost far more than one deque append.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from actors.address import Address
from actors.envelope import Envelope
from actors.errors import InvalidConfig, InvalidEnvelope
from actors.messages import Message

__all__ = ["MessageLog", "read_jsonl"]


class MessageLog:
    """A bounded, thread-safe log of the envelopes a system sent (see the module docstring).

    Every method may be called from any thread, while agents send.

    Args:
        capacity: how many envelopes it keeps (>= 1); when full, each new one drops the oldest.

    Raises:
        InvalidConfig: if ``capacity`` is not an integer >= 1.
    """

    __slots__ = ("_count", "_entries", "_lock", "capacity")

    def __init__(self, capacity: int) -> None:
        if type(capacity) is not int or capacity < 1:
            msg = f"a message log's capacity must be an integer >= 1, got {capacity!r:.80}"
            raise InvalidConfig(msg)
        self.capacity = capacity
        self._entries: deque[Envelope] = deque(maxlen=capacity)
        self._count = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<MessageLog {len(self._entries)}/{self.capacity} kept, {self._count} sent>"

    def __len__(self) -> int:
        """How many envelopes the log holds now (at most ``capacity``)."""
        return len(self._entries)

    def append(self, envelope: Envelope) -> None:
        """Log one sent envelope (the router calls it for every send)."""
        with self._lock:
            self._entries.append(envelope)
            self._count += 1

    def count(self) -> int:
        """How many envelopes were sent since the system started (or the last `clear`).

        Dropped ones included: it keeps counting once the log is full.
        """
        return self._count

    def clear(self) -> None:
        """Forget every logged envelope and reset `count` to 0."""
        with self._lock:
            self._entries.clear()
            self._count = 0

    def query(
        self,
        *,
        sender: str | None = None,
        to: Address | str | None = None,
        type: type[Message] | str | None = None,  # noqa: A002 - the filter is called type
        correlation_id: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[Envelope]:
        """The logged envelopes that match every filter given, oldest first.

        Args:
            sender: the sending agent's name.
            to: the address sent to: an `Address`, or its string (``"coder-1"``,
                ``"role:coder"``, ``"*"``, ``"*:coder"``), compared with ``str(envelope.to)``.
            type: a `Message` class (its subclasses match too), or a ``type_name`` string.
            correlation_id: the conversation's id.
            since: wall-clock seconds: envelopes created at or after it.
            limit: at most this many, the most recent of those that match (still returned
                oldest first). None: all of them.

        Raises:
            InvalidConfig: for a negative ``limit``.
        """
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            msg = f"limit must be an integer >= 0 or None, got {limit!r:.80}"
            raise InvalidConfig(msg)
        with self._lock:
            entries = list(self._entries)
        address = None if to is None else str(to)
        matches: list[Envelope] = []
        for envelope in reversed(entries):  # newest first, so a limit stops early
            if limit is not None and len(matches) >= limit:
                break
            if sender is not None and envelope.sender != sender:
                continue
            if address is not None and str(envelope.to) != address:
                continue
            if type is not None and not _is_type(envelope.body, type):
                continue
            if correlation_id is not None and envelope.correlation_id != correlation_id:
                continue
            if since is not None and envelope.created_at < since:
                continue
            matches.append(envelope)
        matches.reverse()
        return matches

    def export_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Write every logged envelope to ``path``, one `Envelope.to_json` a line, oldest first.

        Asks' reply futures are left out, as in `Envelope.to_json`. `read_jsonl` reads the file
        back. The file is replaced if it exists.

        Returns:
            How many envelopes were written.
        """
        with self._lock:
            entries = list(self._entries)
        with Path(path).open("w", encoding="utf-8") as file:
            file.writelines(envelope.to_json() + "\n" for envelope in entries)
        return len(entries)


def read_jsonl(path: str | os.PathLike[str]) -> list[Envelope]:
    """The envelopes of a JSON Lines file (as `MessageLog.export_jsonl` writes), in order.

    Blank lines are skipped. Each envelope is rebuilt with `Envelope.from_json`, so the body's
    `Message` class must be importable (registered) in this process.

    Raises:
        InvalidEnvelope: for a line that is not a valid envelope; the message names the line
            number, ``field`` the offending field as `Envelope.from_json` reports it.
        OSError: if the file cannot be read.
    """
    with Path(path).open("rb") as file:  # bytes: an undecodable line is a bad line, not a crash
        return list(_decode_lines(file, path))


def _decode_lines(lines: Iterable[bytes], path: str | os.PathLike[str]) -> Iterable[Envelope]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield Envelope.from_json(line)
        except InvalidEnvelope as exc:
            msg = f"{os.fspath(path)}, line {number}: {exc}"
            raise InvalidEnvelope(msg, exc.field) from exc


def _is_type(body: Message, wanted: type[Message] | str) -> bool:
    if isinstance(wanted, str):
        return body.type_name == wanted
    return isinstance(body, wanted)
