"""Handler declaration and dispatch by the message's type.

``@handler`` marks a method; the message type comes from the type hint of its first parameter
after ``self`` (a union registers every member), or from explicit arguments:
``@handler(Ping, Pong)``. Each agent class gets a table {message class: function} built when the
class is created, inherited and overridable; a body whose exact class is not in the table is
looked up along its MRO once, and the answer is cached.

An ``async def`` handler is stored as a plain function, built once here, that runs the
coroutine to completion on the agent's event loop (`AgentActor._run_async`): every caller of
the table calls ``function(instance, body)`` alike, and sync handlers pay nothing for it.

Mistakes are refused when the class is created: two methods of one class body handling the
same type (a subclass overriding an inherited handler is fine), a type that is not a
`Message`, a hint that cannot be resolved.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import typing
from collections import ChainMap
from collections.abc import Callable
from typing import Any, TypeVar, overload

from actors.messages import Message

__all__ = ["HandlerTable", "build_table", "handler", "lookup"]

F = TypeVar("F", bound=Callable[..., Any])
HandlerTable = dict[type, Callable[[Any, Any], Any] | None]

_MARK = "__regiment_handles__"


@overload
def handler(function: F, /) -> F: ...


@overload
def handler(*message_types: type[Message]) -> Callable[[F], F]: ...


def handler(*args: Any) -> Any:
    """Declare a method as the handler of one or more message types.

    Use it bare, and the type hint of the message parameter says what it handles::

        @actors.handler
        def on_task(self, msg: Task) -> Result: ...

    or name the types: ``@actors.handler(Task, Retry)``. The return value is the reply to an
    ask (ignored for a tell, unless the sender set ``reply_to``). The method may be
    ``async def``: it then runs to completion on the agent's own event loop, one message at a
    time like any handler, and its return value is the reply.

    Raises:
        TypeError: at class creation, if a type is not an `actors.Message` subclass, the
            hint cannot be resolved, or two methods of the class body handle the same type.
    """
    if len(args) == 1 and inspect.isfunction(args[0]):
        setattr(args[0], _MARK, ())
        return args[0]

    def mark(function: F) -> F:
        setattr(function, _MARK, tuple(args))
        return function

    return mark


def build_table(cls: type, bases_table: HandlerTable) -> HandlerTable:
    """Build ``cls``'s handler table from its bases' table and its own marked methods.

    Raises:
        TypeError: for a type that is not a `Message`, an unresolvable hint, or two methods
            of ``cls``'s own body that handle the same type.
    """
    table: HandlerTable = {k: v for k, v in bases_table.items() if v is not None}
    own: dict[type, tuple[str, Callable[..., Any]]] = {}  # this body's handlers, to spot twins
    localns: ChainMap[str, Any] | None = None
    for attr, value in vars(cls).items():
        function = value.__func__ if isinstance(value, staticmethod | classmethod) else value
        declared = getattr(function, _MARK, None)
        if declared is None:
            continue
        if not declared:
            if localns is None:
                localns = _defining_scope(cls)
            declared = _hinted_types(cls, attr, function, localns)
        entry = _in_event_loop(function) if inspect.iscoroutinefunction(function) else function
        for message_type in declared:
            if not (isinstance(message_type, type) and issubclass(message_type, Message)):
                msg = (
                    f"{cls.__qualname__}.{attr} handles {message_type!r}, "
                    "which is not an actors.Message subclass"
                )
                raise TypeError(msg)
            first = own.setdefault(message_type, (attr, function))
            if first[1] is not function:
                msg = (
                    f"{cls.__qualname__}.{first[0]} and {cls.__qualname__}.{attr} both handle "
                    f"{message_type.__qualname__}; one type has one handler per class"
                )
                raise TypeError(msg)
            table[message_type] = entry
    return table


def _in_event_loop(function: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """Wrap an ``async def`` handler into a plain one that runs it on the agent's loop."""

    @functools.wraps(function)
    def run_to_completion(instance: Any, body: Any) -> Any:
        return instance._run_async(function(instance, body))

    return run_to_completion


def lookup(table: HandlerTable, message_type: type) -> Callable[[Any, Any], Any] | None:
    """Find the handler for ``message_type`` (exact class, then along its MRO); cached."""
    for base in message_type.__mro__[1:]:
        found = table.get(base)
        if found is not None:
            table[message_type] = found
            return found
    table[message_type] = None
    return None


def _defining_scope(cls: type) -> ChainMap[str, Any]:
    """Local namespaces of the frames around the class statement, nearest first.

    Lets hints name classes defined inside a function (common in tests) even under
    ``from __future__ import annotations``.
    """
    scopes: list[dict[str, Any]] = [dict(vars(cls))]
    frame: types.FrameType | None = sys._getframe(1)
    for _ in range(12):
        if frame is None:
            break
        scopes.append(frame.f_locals)
        frame = frame.f_back
    return ChainMap(*scopes)


def _hinted_types(
    cls: type, attr: str, function: Any, localns: ChainMap[str, Any]
) -> tuple[type, ...]:
    params = list(inspect.signature(function).parameters.values())
    if len(params) < 2:
        msg = f"{cls.__qualname__}.{attr} must take the message as its parameter after self"
        raise TypeError(msg)
    name = params[1].name
    try:
        hints = typing.get_type_hints(function, globalns=function.__globals__, localns=localns)
    except Exception as exc:
        msg = (
            f"cannot resolve the type hint of {cls.__qualname__}.{attr}({name}): {exc}; "
            f"name the type explicitly with @handler(MessageType)"
        )
        raise TypeError(msg) from exc
    hint = hints.get(name)
    if hint is None:
        msg = (
            f"{cls.__qualname__}.{attr} has no type hint on {name!r}; annotate it with the "
            "message class or use @handler(MessageType)"
        )
        raise TypeError(msg)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return typing.get_args(hint)
    return (hint,)
