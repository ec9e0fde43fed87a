"""Shared memory: a versioned key-value `Blackboard` every agent of a system can read and write.

``system.memory`` (``self.system.memory`` inside an agent) is the system's blackboard. It holds
JSON-compatible values (None, bools, numbers, strings, lists, dicts with string keys) or
`Message` instances under non-empty string keys, and gives each key a version:

- a key's first write makes version 1, and every later write (``put``, a successful
  ``compare_and_set``, ``delete``) adds exactly 1, also across a delete: a key deleted at
  version 4 and written again comes back at version 6, so a version seen once is never
  reused for other contents (no ABA);
- `Blackboard.get` returns the value, or None for a missing key (`get_entry` tells a missing
  key from a stored None: it returns ``(value, version)`` or None); `Blackboard.version`
  returns the current version, 0 for a missing (or deleted) key;
- `Blackboard.compare_and_set` writes only if the key is still at ``expected_version``
  (0: only if it does not exist) and returns the new version, or None when it was not.
  It is atomic: of many writers racing from the same version, exactly one wins, and the
  others retry from what they read again, so no update is ever lost.

```python
memory = system.memory
while True:  # increment a shared counter, whoever else does too
    entry = memory.get_entry("jobs/done")
    count, version = entry if entry is not None else (0, 0)
    if memory.compare_and_set("jobs/done", version, count + 1) is not None:
        break
```

Values are copied in and out: what `get` returns is a fresh copy (a `Message` is rebuilt from
its JSON form), so mutating it changes nothing stored. Any thread may call any method.

**Watching.** Inside a handler, ``self.watch_memory("jobs/")`` (or ``system.memory.watch``)
has every later write to a key starting with ``"jobs/"`` delivered to the agent as a
`MemoryChanged` message, after the write. The watch belongs to the agent's name: it survives a
restart (watching again is harmless) and is dropped when the agent stops for good. Writes made
at nearly the same time may be delivered out of order: compare versions.

**Persistence.** By default the blackboard lives in memory and ends with the system.
``ActorSystem(memory="sqlite:///path/to/file.db")`` keeps it in an SQLite database (WAL mode)
instead: it survives a restart of the process, and a new system on the same file sees every
key and version. The URL follows SQLAlchemy's form: ``sqlite:///relative.db``,
``sqlite:////absolute/path.db``. The connection is closed when the system shuts down; the
blackboard then raises `SystemStopped` (agents may still use it in ``on_stop``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from loguru import logger
from pydantic import field_serializer, model_validator

from actors._local import sender_in
from actors._local import state as _local_state
from actors.errors import InvalidConfig, InvalidMemoryEntry, RegimentError, SystemStopped
from actors.messages import Message, message_classes, message_type

if TYPE_CHECKING:
    from actors._runtime import Runtime
    from actors._slot import Slot

__all__ = ["Blackboard", "MemoryChanged"]

_SQLITE_PREFIX = "sqlite:///"


class MemoryChanged(Message):
    """Delivered to an agent watching a prefix of the blackboard when a key under it changes.

    Attributes:
        key: the key written.
        version: its version after the write.
        value: the value written (a `Message` comes back as one); None for a delete.
        deleted: True if the key was deleted.
        value_type: the message type name when ``value`` is a `Message`, else None (it lets
            the message's JSON form rebuild the value).
    """

    key: str
    version: int
    value: Any = None
    deleted: bool = False
    value_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _rebuild_message_value(cls, data: Any) -> Any:
        """From JSON: turn the value back into the `Message` that ``value_type`` names."""
        if (
            isinstance(data, dict)
            and data.get("value_type")
            and isinstance(data.get("value"), dict)
        ):
            kind = message_type(data["value_type"])
            if kind is not None:
                data = {**data, "value": kind.model_validate(data["value"])}
        return data

    @field_serializer("value")
    def _dump_value(self, value: Any) -> Any:
        """A `Message` value is dumped as its own JSON form (``value_type`` names its class)."""
        if isinstance(value, Message):
            return value.model_dump(mode="json")
        return value


# -- encoding -------------------------------------------------------------------------------------

# Stored form of one value: (JSON text, message type name or None). Every read decodes it
# again, so callers never share a mutable object with the store.
_Stored = tuple[str, str | None]


def _check_key(key: object) -> str:
    if type(key) is not str or not key:
        msg = f"a blackboard key must be a non-empty string, got {key!r}"
        raise InvalidMemoryEntry(msg, key if isinstance(key, str) else repr(key))
    return key


def _encode(key: str, value: object) -> _Stored:
    """The stored form of ``value``; raises `InvalidMemoryEntry` if it is not JSON-compatible."""
    if type(value) in message_classes or isinstance(value, Message):
        assert isinstance(value, Message)
        return value.model_dump_json(), type(value).type_name
    try:
        text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        msg = f"blackboard key {key!r}: value is not JSON-compatible ({exc})"
        raise InvalidMemoryEntry(msg, key) from exc
    if json.loads(text) != value:  # a tuple, or a dict with non-string keys, would change
        msg = f"blackboard key {key!r}: value {value!r} does not survive a JSON round-trip"
        raise InvalidMemoryEntry(msg, key)
    return text, None


def _decode(stored: _Stored) -> Any:
    text, type_name = stored
    if type_name is None:
        return json.loads(text)
    kind = message_type(type_name)
    if kind is None:
        msg = f"no message class registered as {type_name!r} (a stored blackboard value)"
        raise RegimentError(msg)
    return kind.model_validate_json(text)


# -- stores ---------------------------------------------------------------------------------------


class _Store(Protocol):
    """Where the entries live. Calls are serialised by the `Blackboard`'s lock."""

    def read(self, key: str) -> tuple[_Stored | None, int]:
        """(stored value or None if absent/deleted, version; 0 if never written)."""

    def write(self, key: str, stored: _Stored | None, expected: int | None) -> int | None:
        """Write (None: delete) if ``expected`` is None or matches; new version, or None."""

    def keys(self, prefix: str) -> list[str]:
        """The live keys starting with ``prefix``, sorted."""

    def close(self) -> None:
        """Release the store's resources."""


class _DictStore:
    """The in-memory store: key -> (stored value or None for a tombstone, version)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[_Stored | None, int]] = {}

    def read(self, key: str) -> tuple[_Stored | None, int]:
        return self._entries.get(key, (None, 0))

    def write(self, key: str, stored: _Stored | None, expected: int | None) -> int | None:
        current, version = self._entries.get(key, (None, 0))
        if expected is not None and expected != (0 if current is None else version):
            return None
        if stored is None and current is None:
            return None  # deleting what is not there changes nothing
        self._entries[key] = (stored, version + 1)
        return version + 1

    def keys(self, prefix: str) -> list[str]:
        return sorted(
            k for k, (v, _) in self._entries.items() if v is not None and k.startswith(prefix)
        )

    def close(self) -> None:
        """Nothing to release."""


class _SqliteStore:
    """The SQLite store: one connection (WAL mode), each write one ``BEGIN IMMEDIATE`` transaction.

    A deleted key stays as a row with a NULL value, keeping its version counting.
    """

    def __init__(self, path: str) -> None:
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            msg = f"cannot open the blackboard database {path!r}: {exc}"
            raise InvalidConfig(msg) from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS blackboard ("
                " key TEXT PRIMARY KEY, version INTEGER NOT NULL,"
                " value TEXT, type TEXT)"
            )
        except sqlite3.Error as exc:
            self._db.close()
            msg = f"cannot use {path!r} as a blackboard database: {exc}"
            raise InvalidConfig(msg) from exc

    def read(self, key: str) -> tuple[_Stored | None, int]:
        row = self._db.execute(
            "SELECT value, type, version FROM blackboard WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None, 0
        value, type_name, version = row
        return (None if value is None else (value, type_name)), version

    def write(self, key: str, stored: _Stored | None, expected: int | None) -> int | None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            current, version = self.read(key)
            if (expected is not None and expected != (0 if current is None else version)) or (
                stored is None and current is None
            ):
                db.execute("ROLLBACK")
                return None
            text, type_name = stored if stored is not None else (None, None)
            db.execute(
                "INSERT INTO blackboard (key, version, value, type) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET version = excluded.version,"
                " value = excluded.value, type = excluded.type",
                (key, version + 1, text, type_name),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return version + 1

    def keys(self, prefix: str) -> list[str]:
        rows = self._db.execute(
            "SELECT key FROM blackboard WHERE value IS NOT NULL AND substr(key, 1, ?) = ?"
            " ORDER BY key",
            (len(prefix), prefix),
        ).fetchall()
        return [key for (key,) in rows]

    def close(self) -> None:
        self._db.close()


def open_store(url: str | None) -> _Store:
    """The store a ``memory=`` setting names: None (in memory) or ``sqlite:///<path>``.

    Raises:
        InvalidConfig: for any other setting, or a database that cannot be opened.
    """
    if url is None:
        return _DictStore()
    if not isinstance(url, str) or not url.startswith(_SQLITE_PREFIX):
        msg = f"memory must be None or 'sqlite:///<path>', got {url!r}"
        raise InvalidConfig(msg)
    path = url.removeprefix(_SQLITE_PREFIX)
    if not path or path == ":memory:":
        msg = f"memory {url!r} names no database file"
        raise InvalidConfig(msg)
    return _SqliteStore(path)


# -- the blackboard -------------------------------------------------------------------------------


class Blackboard:
    """A system's shared, versioned key-value memory (see the module docstring).

    Built by `ActorSystem` (``system.memory``); thread-safe. Every method raises
    `SystemStopped` once the system has shut down, and `InvalidMemoryEntry` for a key that
    is not a non-empty string. With SQLite, a database failure (the file locked by another
    process for more than 5 s, a full disk) propagates as `sqlite3.Error`; nothing is written.
    """

    def __init__(self, runtime: Runtime, store: _Store) -> None:
        self._runtime = runtime
        self._store: _Store | None = store
        self._lock = threading.Lock()
        self._watch_lock = threading.Lock()
        self._watches: dict[tuple[Slot, str], None] = {}  # insertion-ordered set
        self.persistent = isinstance(store, _SqliteStore)
        """True if the blackboard is kept in an SQLite file (it outlives the process)."""
        runtime.on_shutdown(self._close)

    def __repr__(self) -> str:
        kind = "sqlite" if self.persistent else "in-memory"
        state = "closed" if self._store is None else "open"
        return f"<Blackboard {kind} {state}>"

    def _open(self) -> _Store:
        store = self._store
        if store is None:
            msg = f"system {self._runtime.name!r} is shut down; its memory is closed"
            raise SystemStopped(msg)
        return store

    def _close(self) -> None:
        """Close the store (an `on_shutdown` callback: the SQLite connection ends here)."""
        with self._lock:
            store, self._store = self._store, None
            if store is not None:
                store.close()
        with self._watch_lock:
            self._watches.clear()

    # -- reading ----------------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        """The value stored under ``key`` (a fresh copy), or None if there is none."""
        entry = self.get_entry(key)
        return None if entry is None else entry[0]

    def get_entry(self, key: str) -> tuple[Any, int] | None:
        """``(value, version)`` of ``key``, or None if it does not exist (or was deleted)."""
        _check_key(key)
        with self._lock:
            stored, version = self._open().read(key)
        return None if stored is None else (_decode(stored), version)

    def version(self, key: str) -> int:
        """The current version of ``key``; 0 if it does not exist (or was deleted)."""
        _check_key(key)
        with self._lock:
            stored, version = self._open().read(key)
        return 0 if stored is None else version

    def keys(self, prefix: str = "") -> list[str]:
        """Every existing key starting with ``prefix``, sorted."""
        if not isinstance(prefix, str):
            msg = f"a blackboard prefix must be a string, got {prefix!r}"
            raise InvalidMemoryEntry(msg, repr(prefix))
        with self._lock:
            return self._open().keys(prefix)

    def __contains__(self, key: object) -> bool:
        """True if ``key`` exists."""
        return isinstance(key, str) and bool(key) and self.version(key) > 0

    # -- writing ----------------------------------------------------------------------------------

    def put(self, key: str, value: Any) -> int:
        """Store ``value`` under ``key`` unconditionally; returns the new version.

        Raises:
            InvalidMemoryEntry: if ``value`` is neither JSON-compatible nor a `Message`.
        """
        stored = _encode(_check_key(key), value)
        with self._lock:
            version = self._open().write(key, stored, None)
        assert version is not None
        self._notify(key, version, value, deleted=False)
        return version

    def compare_and_set(self, key: str, expected_version: int, value: Any) -> int | None:
        """Store ``value`` only if ``key`` is at ``expected_version``; atomic.

        Args:
            key: the key.
            expected_version: the version the caller read (`version`, `get_entry`); 0 means
                "only if the key does not exist".
            value: the new value.

        Returns:
            The new version, or None if the key was not at ``expected_version`` (nothing
            was written: read again and retry).

        Raises:
            InvalidMemoryEntry: for a bad value, or an ``expected_version`` that is not an
                int >= 0.
        """
        _check_key(key)
        if type(expected_version) is not int or expected_version < 0:
            msg = (
                f"blackboard key {key!r}: expected_version must be an int >= 0,"
                f" got {expected_version!r}"
            )
            raise InvalidMemoryEntry(msg, key)
        stored = _encode(key, value)
        with self._lock:
            version = self._open().write(key, stored, expected_version)
        if version is not None:
            self._notify(key, version, value, deleted=False)
        return version

    def delete(self, key: str) -> bool:
        """Delete ``key``; True if it existed. The deletion takes a version of its own."""
        _check_key(key)
        with self._lock:
            version = self._open().write(key, None, None)
        if version is None:
            return False
        self._notify(key, version, None, deleted=True)
        return True

    # -- watching ---------------------------------------------------------------------------------

    def watch(self, prefix: str = "") -> None:
        """Have the calling agent receive a `MemoryChanged` for every later write under ``prefix``.

        Must be called from inside one of the system's agents (a handler or a lifecycle
        hook); ``self.watch_memory(prefix)`` is the same. Watching a prefix twice is one watch.

        Raises:
            RegimentError: when called outside the system's agents.
        """
        self.watch_slot(self._caller("watch"), prefix)

    def unwatch(self, prefix: str = "") -> None:
        """Stop the calling agent's watch of ``prefix`` (nothing if it had none).

        Raises:
            RegimentError: when called outside the system's agents.
        """
        self.unwatch_slot(self._caller("unwatch"), prefix)

    def watch_slot(self, slot: Slot, prefix: str) -> None:
        """`watch` for a known slot (runtime internal: `AgentActor.watch_memory`)."""
        if not isinstance(prefix, str):
            msg = f"a blackboard prefix must be a string, got {prefix!r}"
            raise InvalidMemoryEntry(msg, repr(prefix))
        self._open()
        with self._watch_lock:
            self._watches[slot, prefix] = None

    def unwatch_slot(self, slot: Slot, prefix: str) -> None:
        """`unwatch` for a known slot (runtime internal: `AgentActor.unwatch_memory`)."""
        with self._watch_lock:
            self._watches.pop((slot, prefix), None)

    def _caller(self, what: str) -> Slot:
        slot = _local_state.slot
        if slot is None or slot.runtime is not self._runtime or slot.kind != "agent":
            msg = (
                f"memory.{what}() is for agents of system {self._runtime.name!r}:"
                " call it in a handler"
            )
            raise RegimentError(msg)
        return slot

    def _watchers(self, key: str) -> Iterator[Slot]:
        """The live slots watching ``key`` (each once); stopped watchers are dropped."""
        with self._watch_lock:
            if not self._watches:
                return iter(())
            found: dict[Slot, None] = {}
            for slot, prefix in list(self._watches):
                if not slot.alive:
                    del self._watches[slot, prefix]
                elif key.startswith(prefix):
                    found[slot] = None
        return iter(found)

    def _notify(self, key: str, version: int, value: Any, *, deleted: bool) -> None:
        """Deliver `MemoryChanged` to the watchers of ``key`` (after the write, no lock held)."""
        watchers = self._watchers(key)
        notice: MemoryChanged | None = None
        router = self._runtime.router
        sender = sender_in(self._runtime)  # an agent writing during the shutdown still notifies
        for slot in watchers:
            if notice is None:
                copy = None if deleted else _decode(_encode(key, value))  # the stored form
                notice = MemoryChanged(
                    key=key,
                    version=version,
                    value=copy,
                    deleted=deleted,
                    value_type=type(copy).type_name if isinstance(copy, Message) else None,
                )
            try:
                router.tell(slot.name, notice, sender, target=slot, detached=True)
            except RegimentError as exc:  # a full mailbox, a policy, the system stopping
                logger.bind(system=self._runtime.name, agent=slot.name).warning(
                    "memory change of {!r} not delivered to {!r}: {}", key, slot.name, exc
                )
