"""Tools and tool permissions: what an agent may call, at which level, how often.

```python
@actors.tool(name="fs.read", level=Permission.READ_ONLY)
def read_file(path: str) -> str:
    \"\"\"Read a text file.\"\"\"
    return Path(path).read_text()

policy = ToolPolicy(
    grants=[
        Grant("role:coder", "fs.*", Permission.READ_WRITE),
        Grant("reviewer", "*", Permission.READ_ONLY),
    ],
    rate_limits=[ToolRateLimit("role:coder", "http.*", calls=100, per=3600)],
)
system = ActorSystem(tools=[read_file], tool_policy=policy)

class Coder(AgentActor):
    @handler
    def fix(self, task: Task) -> str:
        return self.use_tool("fs.read", path=task.path)
```

**Tools.** `tool` turns a typed function into a `Tool`: a name, the `Permission` a caller needs
(``level``), a description (the function's docstring) and a pydantic model of its arguments,
built from the signature. The model validates every call's arguments (pydantic's lax mode:
``"3"`` is accepted for an ``int``) and gives the JSON Schema `ActorSystem.tool_schemas` hands
to an LLM. Tool functions are plain synchronous functions, called in the agent's thread.

**Permissions** are ordered: ``DENIED < READ_ONLY < READ_WRITE < FULL``. An agent may call a
tool when its granted level is at least the tool's level.

**Grants** give a subject a level on the tools whose name matches a glob pattern (``*`` any
run of characters, ``?`` one). A subject is an agent's name, ``"role:<r>"`` (every agent holding
role ``r``) or ``"*"`` (every agent). Of the grants that match an agent and a tool, the most
specific wins, compared in this order:

1. the subject: a name beats a role, a role beats ``"*"``;
2. the pattern: more literal (non-wildcard) characters beat fewer (``"fs.read"`` beats
   ``"fs.*"``, which beats ``"*"``);
3. a tie (say two roles of the same agent, with equally specific patterns): the lowest level.

With no matching grant, the policy's ``default`` applies (`Permission.DENIED`).

**Rate limits** allow at most ``calls`` calls in any ``per`` seconds (a sliding window, on the
system's clock), counted for each agent separately, over all the tools the pattern matches.
Every limit that matches the agent and the tool applies, and a call counts against each.

**A call** (``self.use_tool(name, **arguments)`` in a handler) goes: permission, rate limit,
argument validation, run. A refused call raises `ToolDenied` or `ToolRateLimited` (both
`PolicyViolation`s); invalid arguments raise `InvalidToolArguments` (they count against the
rate limit: the call was attempted). What the tool raises propagates unchanged. Each call,
refused or not, publishes a `ToolCalled` event and is counted in
``ActorSystem.metrics().system.tool_calls`` by outcome.
"""

from __future__ import annotations

import enum
import fnmatch
import functools
import inspect
import math
import re
import threading
import time
import typing
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import pydantic
from pydantic import ConfigDict

from actors.address import validate_name
from actors.errors import InvalidConfig, InvalidToolArguments, ToolDenied, ToolRateLimited
from actors.events import Event

if TYPE_CHECKING:
    from actors._runtime import Runtime

__all__ = [
    "Grant",
    "Permission",
    "Tool",
    "ToolCalled",
    "ToolOutcome",
    "ToolPolicy",
    "ToolRateLimit",
    "tool",
]

_TOOL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_TOOL_PATTERN = re.compile(r"[A-Za-z0-9_.\-*?]{1,64}")
_WILDCARDS = frozenset("*?")


class Permission(enum.IntEnum):
    """What an agent may do with a tool, in increasing order (compare with ``<``, ``>=``)."""

    DENIED = 0  # nothing
    READ_ONLY = 1  # tools that only look
    READ_WRITE = 2  # tools that change things
    FULL = 3  # everything, dangerous tools included


class ToolOutcome(enum.StrEnum):
    """What became of one tool call (`ToolCalled.outcome`, the keys of the metrics' counts)."""

    OK = "ok"  # the tool ran and returned
    FAILED = "failed"  # the tool ran and raised
    DENIED = "denied"  # the agent's level was too low (or no such tool): ToolDenied
    RATE_LIMITED = "rate_limited"  # a rate limit refused it: ToolRateLimited
    INVALID_ARGUMENTS = "invalid_arguments"  # the arguments did not validate


class ToolCalled(Event):
    """An agent called a tool (published for refused calls too).

    Attributes:
        agent: the calling agent's name.
        tool: the tool's name.
        outcome: what became of the call (`ToolOutcome`).
        duration: seconds the tool function ran (0.0 when it did not run).
        error: why it was refused or what it raised, as text; None for ``ok``.
    """

    agent: str
    tool: str
    outcome: ToolOutcome
    duration: float
    error: str | None = None


class Tool:
    """A function agents may call through `AgentActor.use_tool`; build it with `tool`.

    Calling the `Tool` itself calls the function directly (no policy, no validation).

    Attributes:
        name: the tool's name (``"fs.read"``).
        level: the `Permission` a caller needs.
        description: what it does (the function's docstring by default).
        function: the wrapped function.
        arguments: the pydantic model of its arguments (built from the signature).
    """

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        level: Permission = Permission.FULL,
        description: str | None = None,
    ) -> None:
        if not callable(function):
            msg = f"a tool wraps a function, got {function!r}"
            raise InvalidConfig(msg)
        if inspect.iscoroutinefunction(function):
            msg = f"tool {function.__name__!r}: tools are synchronous functions"
            raise InvalidConfig(msg)
        name = name if name is not None else getattr(function, "__name__", "")
        if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
            msg = (
                f"invalid tool name {name!r}: up to 64 letters, digits, '_', '.' or '-', "
                "starting with a letter or '_'"
            )
            raise InvalidConfig(msg)
        self.name: str = name
        self.level = _permission(level, f"tool {name!r} level")
        if self.level is Permission.DENIED:
            msg = f"tool {name!r}: level DENIED would let every agent call it; use READ_ONLY"
            raise InvalidConfig(msg)
        self.description = (
            description if description is not None else inspect.getdoc(function) or ""
        )
        self.function = function
        self.arguments: type[pydantic.BaseModel] = _arguments_model(name, function)
        self.__doc__ = self.description
        self.__wrapped__ = function

    def __repr__(self) -> str:
        return f"<Tool {self.name!r} level={self.level.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function directly: no policy, no validation, no event."""
        return self.function(*args, **kwargs)

    def schema(self) -> dict[str, Any]:
        """The tool as LLM function-calling APIs take it.

        ``{"type": "function", "function": {"name", "description", "parameters"}}``, where
        ``parameters`` is the JSON Schema of the arguments.
        """
        parameters = self.arguments.model_json_schema()
        parameters.pop("title", None)
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": parameters,
            },
        }

    def validate(self, arguments: dict[str, Any], agent: str | None = None) -> dict[str, Any]:
        """Validate ``arguments`` against the signature; return them converted.

        Raises:
            InvalidToolArguments: naming the tool and the offending fields.
        """
        try:
            model = self.arguments.model_validate(arguments)
        except pydantic.ValidationError as error:
            problems = error.errors(include_url=False)
            fields = tuple(
                ".".join(str(part) for part in p["loc"]) or "<arguments>" for p in problems
            )
            detail = "; ".join(
                f"{field}: {p['msg']}" for field, p in zip(fields, problems, strict=True)
            )
            msg = f"invalid arguments for tool {self.name!r}: {detail}"
            raise InvalidToolArguments(msg, self.name, fields, agent) from error
        return {field: getattr(model, field) for field in type(model).model_fields}


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *, name: str | None = None, level: Permission = ..., description: str | None = None
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    function: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    level: Permission = Permission.FULL,
    description: str | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Declare a tool from a typed function: ``@tool`` or ``@tool(name=..., level=...)``.

    Args:
        function: the function (when used bare, as ``@tool``).
        name: the tool's name (default: the function's name).
        level: the `Permission` a caller needs (default `Permission.FULL`, the safe side).
        description: what it does (default: the function's docstring).

    Raises:
        InvalidConfig: for a bad name or level, an ``async`` function, or a signature that
            cannot be described (``*args``, ``**kwargs``, positional-only or ``_``-prefixed
            parameters).
    """

    def build(fn: Callable[..., Any]) -> Tool:
        return Tool(fn, name=name, level=level, description=description)

    return build if function is None else build(function)


def _permission(value: object, what: str) -> Permission:
    if isinstance(value, Permission):
        return value
    msg = f"{what} must be a Permission, got {value!r}"
    raise InvalidConfig(msg)


def _arguments_model(name: str, function: Callable[..., Any]) -> type[pydantic.BaseModel]:
    try:
        signature = inspect.signature(function)
        hints = typing.get_type_hints(function, include_extras=True)
    except (TypeError, ValueError, NameError) as error:
        msg = f"tool {name!r}: cannot read the signature of {function!r}: {error}"
        raise InvalidConfig(msg) from error
    fields: dict[str, Any] = {}
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            msg = f"tool {name!r}: parameter {parameter.name!r} must be passable by keyword"
            raise InvalidConfig(msg)
        if parameter.name.startswith("_"):
            msg = f"tool {name!r}: parameter {parameter.name!r} may not start with '_'"
            raise InvalidConfig(msg)
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    model_name = "".join(part.capitalize() for part in re.split(r"[._\-]", name)) + "Arguments"
    try:
        return pydantic.create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
    except (pydantic.PydanticUserError, TypeError, ValueError) as error:
        msg = f"tool {name!r}: cannot build an arguments model: {error}"
        raise InvalidConfig(msg) from error


def _check_subject(subject: object) -> int:
    """Validate a subject and return its specificity: 2 a name, 1 a role, 0 ``"*"``."""
    if not isinstance(subject, str):
        msg = f"a grant's subject must be a str, got {subject!r}"
        raise InvalidConfig(msg)
    if subject == "*":
        return 0
    if subject.startswith("role:"):
        validate_name(subject[5:], "role")
        return 1
    validate_name(subject)
    return 2


def _check_pattern(pattern: object) -> int:
    """Validate a tool pattern and return its literal (non-wildcard) character count."""
    if not isinstance(pattern, str) or not _TOOL_PATTERN.fullmatch(pattern):
        msg = (
            f"invalid tool pattern {pattern!r}: up to 64 letters, digits, '_', '.', '-' and "
            "the wildcards '*' and '?'"
        )
        raise InvalidConfig(msg)
    return sum(char not in _WILDCARDS for char in pattern)


def _subject_matches(subject: str, agent: str, roles: frozenset[str]) -> bool:
    if subject == "*":
        return True
    if subject.startswith("role:"):
        return subject[5:] in roles
    return subject == agent


@dataclass(frozen=True, slots=True)
class Grant:
    """Give ``subject`` the `Permission` ``level`` on the tools matching ``tools``.

    Args:
        subject: an agent's name, ``"role:<r>"`` or ``"*"``.
        tools: a tool name or glob pattern (``"fs.*"``, ``"*"``).
        level: the level granted (`Permission.DENIED` takes tools away).

    Raises:
        InvalidConfig: for a malformed subject, pattern or level.
        InvalidAddress: for a malformed agent or role name.
    """

    subject: str
    tools: str
    level: Permission

    def __post_init__(self) -> None:
        _check_subject(self.subject)
        _check_pattern(self.tools)
        _permission(self.level, "a grant's level")

    @property
    def specificity(self) -> tuple[int, int]:
        """How specific the grant is: (subject rank, literal characters of the pattern)."""
        return _check_subject(self.subject), _check_pattern(self.tools)

    def matches(self, agent: str, roles: Iterable[str], tool_name: str) -> bool:
        """True if the grant is about this agent (with these roles) and this tool."""
        return _subject_matches(self.subject, agent, frozenset(roles)) and fnmatch.fnmatchcase(
            tool_name, self.tools
        )


@dataclass(frozen=True, slots=True)
class ToolRateLimit:
    """At most ``calls`` calls in any ``per`` seconds, per agent matching ``subject``.

    Args:
        subject: an agent's name, ``"role:<r>"`` or ``"*"``.
        tools: a tool name or glob pattern; the calls to every matching tool count together.
        calls: how many calls a window allows (a positive int).
        per: the window, in seconds (> 0).

    Raises:
        InvalidConfig: for a malformed subject or pattern, or a bad ``calls`` or ``per``.
    """

    subject: str
    tools: str
    calls: int
    per: float

    def __post_init__(self) -> None:
        _check_subject(self.subject)
        _check_pattern(self.tools)
        if isinstance(self.calls, bool) or not isinstance(self.calls, int) or self.calls < 1:
            msg = f"tool rate limit calls must be a positive int, got {self.calls!r}"
            raise InvalidConfig(msg)
        if (
            isinstance(self.per, bool)
            or not isinstance(self.per, int | float)
            or not (self.per > 0 and math.isfinite(self.per))
        ):
            msg = f"tool rate limit per must be > 0 seconds and finite, got {self.per!r}"
            raise InvalidConfig(msg)

    def matches(self, agent: str, roles: Iterable[str], tool_name: str) -> bool:
        """True if the limit counts this agent's calls to this tool."""
        return _subject_matches(self.subject, agent, frozenset(roles)) and fnmatch.fnmatchcase(
            tool_name, self.tools
        )


class ToolPolicy:
    """Grants and rate limits for tool calls; see the module docstring. Thread-safe.

    Args:
        grants: `Grant`s; the most specific matching one decides.
        rate_limits: `ToolRateLimit`s; every matching one applies.
        default: the level of an agent no grant matches (`Permission.DENIED`).

    Raises:
        InvalidConfig: for anything that is not a `Grant` / `ToolRateLimit` / `Permission`.
    """

    def __init__(
        self,
        grants: Iterable[Grant] = (),
        *,
        rate_limits: Iterable[ToolRateLimit] = (),
        default: Permission = Permission.DENIED,
    ) -> None:
        self.grants = tuple(grants)
        self.rate_limits = tuple(rate_limits)
        self.default = _permission(default, "ToolPolicy default")
        for grant in self.grants:
            if not isinstance(grant, Grant):
                msg = f"ToolPolicy grants must be Grant instances, got {grant!r}"
                raise InvalidConfig(msg)
        for limit in self.rate_limits:
            if not isinstance(limit, ToolRateLimit):
                msg = f"ToolPolicy rate_limits must be ToolRateLimit instances, got {limit!r}"
                raise InvalidConfig(msg)
        # (limit index, agent) -> the times of the calls in the current window, oldest first
        self._windows: dict[tuple[int, str], deque[float]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ToolPolicy grants={len(self.grants)} rate_limits={len(self.rate_limits)}>"

    def grant_for(self, agent: str, roles: Iterable[str], tool_name: str) -> Grant | None:
        """The grant that decides for this agent and tool (the most specific), or None."""
        roles = frozenset(roles)
        best: Grant | None = None
        best_key: tuple[int, int, int] | None = None
        for grant in self.grants:
            if grant.matches(agent, roles, tool_name):
                key = (*grant.specificity, -grant.level)
                if best_key is None or key > best_key:
                    best, best_key = grant, key
        return best

    def permission(self, agent: str, tool_name: str, roles: Iterable[str] = ()) -> Permission:
        """The level ``agent`` (holding ``roles``) has on the tool ``tool_name``."""
        grant = self.grant_for(agent, roles, tool_name)
        return self.default if grant is None else grant.level

    def take(
        self, agent: str, roles: Iterable[str], tool_name: str, now: float
    ) -> tuple[ToolRateLimit, float] | None:
        """Count one call at ``now`` against every matching limit; None if all allow it.

        Returns:
            None (the call is counted), or the first limit that refuses it with the seconds
            until it would allow one more (nothing is counted then).
        """
        roles = frozenset(roles)
        matching = [
            (index, limit)
            for index, limit in enumerate(self.rate_limits)
            if limit.matches(agent, roles, tool_name)
        ]
        if not matching:
            return None
        with self._lock:
            windows = []
            for index, limit in matching:
                window = self._windows.setdefault((index, agent), deque())
                cutoff = now - limit.per
                while window and window[0] <= cutoff:
                    window.popleft()
                if len(window) >= limit.calls:
                    return limit, window[0] + limit.per - now
                windows.append(window)
            for window in windows:
                window.append(now)
        return None


class ToolBox:
    """The tools of one system and the policy over them (`ActorSystem` holds one)."""

    def __init__(self, tools: Iterable[Tool], policy: ToolPolicy | None) -> None:
        if isinstance(tools, Tool):
            tools = (tools,)
        self.tools: dict[str, Tool] = {}
        for item in tools:
            if not isinstance(item, Tool):
                msg = f"tools must be declared with @actors.tool, got {item!r}"
                raise InvalidConfig(msg)
            if item.name in self.tools:
                msg = f"two tools are named {item.name!r}"
                raise InvalidConfig(msg)
            self.tools[item.name] = item
        self.policy = check_policy(policy)

    def allowed(self, agent: str, roles: Iterable[str]) -> list[Tool]:
        """The tools this agent may call, in registration order."""
        roles = frozenset(roles)
        policy = self.policy
        return [
            item
            for item in self.tools.values()
            if policy.permission(agent, item.name, roles) >= item.level
        ]

    def call(
        self,
        runtime: Runtime,
        agent: str,
        roles: frozenset[str],
        tool_name: str,
        arguments: dict[str, Any],
    ) -> Any:
        """Check, validate and run one call; publish `ToolCalled` and count it."""
        record = functools.partial(_record, runtime, agent=agent, tool_name=tool_name)
        try:
            item, values = self._admit(runtime, agent, roles, tool_name, arguments)
        except (ToolDenied, ToolRateLimited, InvalidToolArguments) as error:
            outcome = next(o for kind, o in _REFUSALS.items() if isinstance(error, kind))
            record(outcome=outcome, duration=0.0, error=str(error))
            raise
        start = time.perf_counter()
        try:
            result = item.function(**values)
        except BaseException as error:
            text = f"{type(error).__name__}: {error}"
            record(outcome=ToolOutcome.FAILED, duration=_since(start), error=text)
            raise
        record(outcome=ToolOutcome.OK, duration=_since(start), error=None)
        return result

    def _admit(
        self,
        runtime: Runtime,
        agent: str,
        roles: frozenset[str],
        tool_name: str,
        arguments: dict[str, Any],
    ) -> tuple[Tool, dict[str, Any]]:
        item = self.tools.get(tool_name)
        policy = self.policy
        if item is None:
            msg = f"agent {agent!r} may not call tool {tool_name!r}: no such tool"
            raise ToolDenied(msg, agent, tool_name, "no such tool")
        granted = policy.permission(agent, tool_name, roles)
        if granted < item.level:
            detail = f"granted {granted.name}, the tool needs {item.level.name}"
            msg = f"agent {agent!r} may not call tool {tool_name!r}: {detail}"
            raise ToolDenied(msg, agent, tool_name, detail, granted=granted, required=item.level)
        refused = policy.take(agent, roles, tool_name, runtime.clock.monotonic())
        if refused is not None:
            limit, retry_after = refused
            detail = (
                f"rate limit of {limit.calls} calls per {limit.per:g} s "
                f"({limit.subject!r}, {limit.tools!r}) reached; retry in {retry_after:.3g} s"
            )
            msg = f"agent {agent!r} may not call tool {tool_name!r} now: {detail}"
            raise ToolRateLimited(msg, agent, tool_name, detail, retry_after=retry_after)
        return item, item.validate(arguments, agent)


def check_policy(policy: object) -> ToolPolicy:
    """``policy``, or a deny-everything `ToolPolicy` for None.

    Raises:
        InvalidConfig: if it is neither.
    """
    if policy is None:
        return ToolPolicy()
    if not isinstance(policy, ToolPolicy):
        msg = f"tool_policy must be a ToolPolicy, got {policy!r}"
        raise InvalidConfig(msg)
    return policy


_REFUSALS: dict[type[BaseException], ToolOutcome] = {
    ToolDenied: ToolOutcome.DENIED,
    ToolRateLimited: ToolOutcome.RATE_LIMITED,
    InvalidToolArguments: ToolOutcome.INVALID_ARGUMENTS,
}


def _since(start: float) -> float:
    return max(0.0, time.perf_counter() - start)


def _record(
    runtime: Runtime,
    *,
    agent: str,
    tool_name: str,
    outcome: ToolOutcome,
    duration: float,
    error: str | None,
) -> None:
    runtime.totals.count_tool_call(outcome.value)
    runtime.publish(
        ToolCalled, agent=agent, tool=tool_name, outcome=outcome, duration=duration, error=error
    )


def schemas(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    """The function-calling schemas of ``tools``, in order."""
    return [item.schema() for item in tools]
