"""Tools and tool permissions: levels, grants, rate limits, validation, events, schemas."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pytest
from pydantic import Field

from actors import (
    ActorSystem,
    AgentActor,
    Grant,
    InvalidAddress,
    InvalidConfig,
    InvalidToolArguments,
    ManualClock,
    Message,
    Permission,
    PolicyViolation,
    Tool,
    ToolCalled,
    ToolDenied,
    ToolOutcome,
    ToolPolicy,
    ToolRateLimit,
    ToolRateLimited,
    UnknownAddress,
    handler,
    tool,
)
from tests.helpers import record_events

# -- tools and an agent that calls them -----------------------------------------------------

files: dict[str, str] = {"a.txt": "alpha"}
files_lock = threading.Lock()


@tool(name="fs.read", level=Permission.READ_ONLY)
def fs_read(path: str) -> str:
    """Read a file."""
    with files_lock:
        return files[path]


@tool(name="fs.write", level=Permission.READ_WRITE)
def fs_write(path: str, text: str) -> int:
    """Write a file; returns how many characters were written."""
    with files_lock:
        files[path] = text
    return len(text)


@tool(name="shell.run", level=Permission.FULL)
def shell_run(command: str, timeout: float = 1.0) -> str:
    """Run a shell command (pretend)."""
    return f"ran {command!r} within {timeout}"


@tool(name="http.get", level=Permission.READ_ONLY)
def http_get(url: str) -> str:
    """Fetch a URL (pretend)."""
    return f"<{url}>"


@tool(name="math.add", level=Permission.READ_ONLY)
def add(a: int, b: Annotated[int, Field(ge=0, description="a non-negative addend")] = 1) -> int:
    """Add two integers."""
    return a + b


@tool(name="broken", level=Permission.READ_ONLY)
def broken() -> None:
    """Always fails."""
    msg = "the tool broke"
    raise RuntimeError(msg)


ALL_TOOLS = [fs_read, fs_write, shell_run, http_get, add, broken]


class Call(Message):
    tool: str
    arguments: dict[str, Any] = {}


class Caller(AgentActor):
    """Calls the tool it is asked to; answers with the result, or what it raised."""

    @handler
    def on_call(self, msg: Call) -> Any:
        try:
            return self.use_tool(msg.tool, **msg.arguments)
        except Exception as error:  # noqa: BLE001 - the test inspects whatever it was
            return error


@contextmanager
def tool_system(
    policy: ToolPolicy | None, clock: ManualClock | None = None
) -> Iterator[ActorSystem]:
    with ActorSystem("tools", tools=ALL_TOOLS, tool_policy=policy, clock=clock) as system:
        yield system
        assert system.shutdown(timeout=10.0)


def call(system: ActorSystem, agent: str, name: str, **arguments: Any) -> Any:
    return system.ask(agent, Call(tool=name, arguments=arguments), timeout=5)


# -- declaring tools ----------------------------------------------------------------------------


def test_a_tool_keeps_its_function_name_level_and_docstring():
    assert isinstance(fs_read, Tool)
    assert fs_read.name == "fs.read"
    assert fs_read.level is Permission.READ_ONLY
    assert fs_read.description == "Read a file."
    assert fs_read("a.txt") == "alpha"  # calling it directly bypasses the policy


def test_bare_tool_takes_the_function_name_and_defaults_to_full():
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert ping.name == "ping"
    assert ping.level is Permission.FULL


def test_permissions_are_ordered():
    assert Permission.DENIED < Permission.READ_ONLY < Permission.READ_WRITE < Permission.FULL


@pytest.mark.parametrize(
    "make",
    [
        lambda: tool(name="bad name")(lambda: None),
        lambda: tool(name="")(lambda: None),
        lambda: tool(level=Permission.DENIED)(lambda: None),
        lambda: tool(level=2)(lambda: None),  # type: ignore[arg-type]
        lambda: tool(lambda *args: None),
        lambda: tool(lambda **kwargs: None),
        lambda: tool(lambda a, /: None),
        lambda: tool(lambda _private: None),
    ],
)
def test_malformed_tools_are_refused(make):
    with pytest.raises(InvalidConfig):
        make()


def test_async_tools_are_refused():
    async def fetch() -> None:
        """Fetch."""

    with pytest.raises(InvalidConfig, match="synchronous"):
        tool(fetch)


def test_the_system_refuses_duplicate_names_and_non_tools():
    with pytest.raises(InvalidConfig, match="two tools"):
        ActorSystem("dup", tools=[fs_read, fs_read])
    with pytest.raises(InvalidConfig, match=r"@actors\.tool"):
        ActorSystem("plain", tools=[len])  # type: ignore[list-item]
    with pytest.raises(InvalidConfig, match="ToolPolicy"):
        ActorSystem("policy", tool_policy=object())  # type: ignore[arg-type]


# -- grants: validation, globs, most specific wins ------------------------------------------


@pytest.mark.parametrize(
    ("subject", "pattern", "level", "error"),
    [
        ("role:", "fs.*", Permission.FULL, InvalidAddress),
        ("bad name", "fs.*", Permission.FULL, InvalidAddress),
        ("coder", "fs[ab]", Permission.FULL, InvalidConfig),
        ("coder", "", Permission.FULL, InvalidConfig),
        ("coder", "fs.*", 3, InvalidConfig),
        (None, "fs.*", Permission.FULL, InvalidConfig),
    ],
)
def test_malformed_grants_are_refused(subject, pattern, level, error):
    with pytest.raises(error):
        Grant(subject, pattern, level)


@pytest.mark.parametrize(
    ("calls", "per"),
    [(0, 1.0), (-1, 1.0), (1.5, 1.0), (True, 1.0), (1, 0), (1, -1.0), (1, float("inf")), (1, "1")],
)
def test_malformed_rate_limits_are_refused(calls, per):
    with pytest.raises(InvalidConfig):
        ToolRateLimit("*", "*", calls=calls, per=per)


def test_a_policy_takes_only_grants_limits_and_a_permission():
    with pytest.raises(InvalidConfig):
        ToolPolicy(grants=[("coder", "*", Permission.FULL)])  # type: ignore[list-item]
    with pytest.raises(InvalidConfig):
        ToolPolicy(rate_limits=[Grant("*", "*", Permission.FULL)])  # type: ignore[list-item]
    with pytest.raises(InvalidConfig):
        ToolPolicy(default=1)  # type: ignore[arg-type]


def test_no_grant_means_denied_by_default_and_the_default_is_configurable():
    assert ToolPolicy().permission("anyone", "fs.read") is Permission.DENIED
    assert ToolPolicy(default=Permission.READ_ONLY).permission("x", "y") is Permission.READ_ONLY


def test_glob_grants_match_tool_names():
    policy = ToolPolicy(
        grants=[
            Grant("role:coder", "fs.*", Permission.READ_WRITE),
            Grant("role:coder", "http.ge?", Permission.READ_ONLY),
        ]
    )
    assert policy.permission("c", "fs.read", ["coder"]) is Permission.READ_WRITE
    assert policy.permission("c", "fs.deep.write", ["coder"]) is Permission.READ_WRITE
    assert policy.permission("c", "http.get", ["coder"]) is Permission.READ_ONLY
    assert policy.permission("c", "http.gets", ["coder"]) is Permission.DENIED
    assert policy.permission("c", "fsx.read", ["coder"]) is Permission.DENIED
    assert policy.permission("c", "fs.read", ["reviewer"]) is Permission.DENIED


def test_the_most_specific_grant_wins():
    policy = ToolPolicy(
        grants=[
            Grant("*", "*", Permission.READ_ONLY),
            Grant("role:coder", "*", Permission.READ_WRITE),
            Grant("role:coder", "fs.*", Permission.FULL),
            Grant("role:coder", "fs.delete", Permission.DENIED),
            Grant("alice", "*", Permission.DENIED),
            Grant("alice", "fs.read", Permission.READ_ONLY),
        ]
    )
    # "*" applies to everyone
    assert policy.permission("bob", "shell.run") is Permission.READ_ONLY
    # a role beats "*"
    assert policy.permission("carol", "shell.run", ["coder"]) is Permission.READ_WRITE
    # a longer pattern beats a shorter one for the same subject
    assert policy.permission("carol", "fs.write", ["coder"]) is Permission.FULL
    assert policy.permission("carol", "fs.delete", ["coder"]) is Permission.DENIED
    # a name beats a role, whatever the patterns
    assert policy.permission("alice", "fs.write", ["coder"]) is Permission.DENIED
    assert policy.permission("alice", "fs.read", ["coder"]) is Permission.READ_ONLY
    assert policy.grant_for("alice", ["coder"], "fs.read") == policy.grants[-1]


def test_equally_specific_grants_resolve_to_the_lowest_level_in_any_order():
    grants = [
        Grant("role:coder", "fs.*", Permission.READ_WRITE),
        Grant("role:reviewer", "fs.*", Permission.READ_ONLY),
    ]
    for ordered in (grants, grants[::-1]):
        policy = ToolPolicy(grants=ordered)
        assert policy.permission("x", "fs.read", ["coder", "reviewer"]) is Permission.READ_ONLY


# -- calling tools from handlers: every granted level against every tool level -----------------

LEVELS = list(Permission)
TOOL_BY_LEVEL = {
    Permission.READ_ONLY: ("fs.read", {"path": "a.txt"}, "alpha"),
    Permission.READ_WRITE: ("fs.write", {"path": "b.txt", "text": "beta"}, 4),
    Permission.FULL: ("shell.run", {"command": "ls"}, "ran 'ls' within 1.0"),
}


@pytest.mark.parametrize("granted", LEVELS, ids=lambda level: level.name)
@pytest.mark.parametrize("required", list(TOOL_BY_LEVEL), ids=lambda level: level.name)
def test_every_granted_level_against_every_tool_level(granted, required):
    name, arguments, expected = TOOL_BY_LEVEL[required]
    agent = f"agent-{granted.name.lower()}"
    with ActorSystem(
        "matrix",
        tools=ALL_TOOLS,
        tool_policy=ToolPolicy(grants=[Grant(agent, "*", granted)]),
    ) as system:
        system.spawn(Caller, name=agent)
        result = call(system, agent, name, **arguments)
        if granted >= required:
            assert result == expected
        else:
            assert isinstance(result, ToolDenied)
            assert isinstance(result, PolicyViolation)
            assert (result.agent, result.tool) == (agent, name)
            assert (result.granted, result.required) == (granted, required)
            assert result.reason == "policy_denied"
            assert result.sender == agent
            assert result.address == f"tool:{name}"
            assert granted.name in str(result)
            assert required.name in str(result)
        assert system.shutdown(timeout=10.0)


def test_roles_grant_through_the_agents_roles():
    policy = ToolPolicy(grants=[Grant("role:coder", "fs.*", Permission.READ_WRITE)])
    with tool_system(policy) as system:
        system.spawn(Caller, name="coder-1", roles=("coder",))
        system.spawn(Caller, name="outsider")
        assert call(system, "coder-1", "fs.write", path="c.txt", text="gamma") == 5
        assert call(system, "coder-1", "fs.read", path="c.txt") == "gamma"
        assert isinstance(call(system, "coder-1", "shell.run", command="ls"), ToolDenied)
        assert isinstance(call(system, "outsider", "fs.read", path="a.txt"), ToolDenied)


def test_an_unknown_tool_is_denied():
    with tool_system(ToolPolicy(grants=[Grant("*", "*", Permission.FULL)])) as system:
        system.spawn(Caller, name="a")
        error = call(system, "a", "no.such.tool")
        assert isinstance(error, ToolDenied)
        assert error.tool == "no.such.tool"
        assert "no such tool" in str(error)
        assert error.required is None


# -- argument validation ----------------------------------------------------------------------


def test_arguments_are_validated_and_converted():
    with tool_system(ToolPolicy(grants=[Grant("*", "*", Permission.READ_ONLY)])) as system:
        system.spawn(Caller, name="a")
        assert call(system, "a", "math.add", a="2", b=3) == 5  # lax: "2" -> 2
        assert call(system, "a", "math.add", a=2) == 3  # the default

        missing = call(system, "a", "math.add")
        assert isinstance(missing, InvalidToolArguments)
        assert isinstance(missing, ValueError)
        assert (missing.tool, missing.fields, missing.agent) == ("math.add", ("a",), "a")
        assert "'math.add'" in str(missing)
        assert "a: Field required" in str(missing)

        wrong = call(system, "a", "math.add", a="two", b=-1)
        assert isinstance(wrong, InvalidToolArguments)
        assert wrong.fields == ("a", "b")
        assert "greater than or equal to 0" in str(wrong)

        extra = call(system, "a", "fs.read", path="a.txt", mode="r")
        assert isinstance(extra, InvalidToolArguments)
        assert extra.fields == ("mode",)


def test_what_the_tool_raises_propagates_unchanged():
    with tool_system(ToolPolicy(grants=[Grant("*", "*", Permission.FULL)])) as system:
        system.spawn(Caller, name="s")
        error = call(system, "s", "broken")
        assert type(error) is RuntimeError
        assert str(error) == "the tool broke"


def test_a_tool_argument_called_name_does_not_clash_with_use_tool():
    @tool(name="greet", level=Permission.READ_ONLY)
    def greet(name: str) -> str:
        """Greet someone."""
        return f"hello {name}"

    class Greeter(AgentActor):
        @handler
        def on_call(self, msg: Call) -> Any:
            return self.use_tool("greet", name="world")

    policy = ToolPolicy(grants=[Grant("*", "*", Permission.READ_ONLY)])
    with ActorSystem("greet", tools=[greet], tool_policy=policy) as system:
        system.spawn(Greeter, name="g")
        assert system.ask("g", Call(tool="greet"), timeout=5) == "hello world"


# -- rate limits on a manual clock ------------------------------------------------------------


def test_rate_limits_allow_calls_per_period_on_the_systems_clock(clock: ManualClock):
    policy = ToolPolicy(
        grants=[Grant("*", "*", Permission.FULL)],
        rate_limits=[ToolRateLimit("role:coder", "http.*", calls=2, per=60)],
    )
    with tool_system(policy, clock) as system:
        system.spawn(Caller, name="c1", roles=("coder",))
        system.spawn(Caller, name="c2", roles=("coder",))
        system.spawn(Caller, name="other")
        assert call(system, "c1", "http.get", url="u1") == "<u1>"
        clock.advance(30)
        assert call(system, "c1", "http.get", url="u2") == "<u2>"
        refused = call(system, "c1", "http.get", url="u3")
        assert isinstance(refused, ToolRateLimited)
        assert isinstance(refused, PolicyViolation)
        assert (refused.agent, refused.tool, refused.reason) == ("c1", "http.get", "rate_limited")
        assert refused.retry_after == pytest.approx(30.0)
        assert "2 calls per 60 s" in str(refused)
        # other tools, other agents and agents without the role are not limited by it
        assert call(system, "c1", "fs.read", path="a.txt") == "alpha"
        assert call(system, "c2", "http.get", url="x") == "<x>"
        for n in range(5):
            assert call(system, "other", "http.get", url=str(n)) == f"<{n}>"
        # a sliding window: the first call leaves it 60 s after it was made
        clock.advance(29.5)
        assert isinstance(call(system, "c1", "http.get", url="u4"), ToolRateLimited)
        clock.advance(0.5)
        assert call(system, "c1", "http.get", url="u5") == "<u5>"
        assert isinstance(call(system, "c1", "http.get", url="u6"), ToolRateLimited)


def test_a_call_must_fit_every_matching_limit_and_refused_calls_count_in_none(clock):
    policy = ToolPolicy(
        grants=[Grant("*", "*", Permission.FULL)],
        rate_limits=[
            ToolRateLimit("*", "*", calls=3, per=10),
            ToolRateLimit("a", "fs.*", calls=1, per=10),
        ],
    )
    with tool_system(policy, clock) as system:
        system.spawn(Caller, name="a")
        assert call(system, "a", "fs.read", path="a.txt") == "alpha"
        assert isinstance(call(system, "a", "fs.read", path="a.txt"), ToolRateLimited)
        assert call(system, "a", "http.get", url="u") == "<u>"
        assert call(system, "a", "http.get", url="v") == "<v>"  # 3 of 3: the refusal took none
        assert isinstance(call(system, "a", "http.get", url="w"), ToolRateLimited)


def test_denied_calls_do_not_count_against_the_limit(clock):
    policy = ToolPolicy(
        grants=[Grant("a", "fs.read", Permission.READ_ONLY)],
        rate_limits=[ToolRateLimit("a", "*", calls=1, per=10)],
    )
    with tool_system(policy, clock) as system:
        system.spawn(Caller, name="a")
        assert isinstance(call(system, "a", "fs.write", path="x", text="y"), ToolDenied)
        assert call(system, "a", "fs.read", path="a.txt") == "alpha"


# -- events and metrics -------------------------------------------------------------------------


def test_every_call_is_a_tool_called_event_and_counted_in_the_metrics(clock):
    policy = ToolPolicy(
        grants=[Grant("a", "*", Permission.READ_ONLY)],
        rate_limits=[ToolRateLimit("a", "http.*", calls=1, per=10)],
    )
    with tool_system(policy, clock) as system:
        journal = record_events(system, ToolCalled)
        system.spawn(Caller, name="a")
        assert call(system, "a", "fs.read", path="a.txt") == "alpha"
        assert isinstance(call(system, "a", "fs.write", path="x", text="y"), ToolDenied)
        assert call(system, "a", "http.get", url="u") == "<u>"
        assert isinstance(call(system, "a", "http.get", url="u"), ToolRateLimited)
        assert isinstance(call(system, "a", "math.add"), InvalidToolArguments)
        assert type(call(system, "a", "broken")) is RuntimeError
        events = journal.wait_len(6)
        assert [(e.agent, e.tool, e.outcome) for e in events] == [
            ("a", "fs.read", ToolOutcome.OK),
            ("a", "fs.write", ToolOutcome.DENIED),
            ("a", "http.get", ToolOutcome.OK),
            ("a", "http.get", ToolOutcome.RATE_LIMITED),
            ("a", "math.add", ToolOutcome.INVALID_ARGUMENTS),
            ("a", "broken", ToolOutcome.FAILED),
        ]
        assert all(e.system == "tools" for e in events)
        assert events[0].error is None
        assert events[0].duration >= 0.0
        assert [e.duration for e in (events[1], events[3], events[4])] == [0.0, 0.0, 0.0]
        assert "READ_WRITE" in (events[1].error or "")
        assert events[5].error == "RuntimeError: the tool broke"
        assert system.metrics().system.tool_calls == {
            "ok": 2,
            "denied": 1,
            "rate_limited": 1,
            "invalid_arguments": 1,
            "failed": 1,
        }


def test_metrics_have_no_tool_calls_until_one_is_made(system):
    assert system.metrics().system.tool_calls == {}


# -- schemas ------------------------------------------------------------------------------------


def test_tool_schemas_list_what_an_agent_may_call_in_function_calling_shape():
    policy = ToolPolicy(
        grants=[
            Grant("role:coder", "fs.*", Permission.READ_WRITE),
            Grant("role:coder", "math.*", Permission.READ_ONLY),
        ]
    )
    with tool_system(policy) as system:
        system.spawn(Caller, name="coder-1", roles=("coder",))
        system.spawn(Caller, name="nobody")
        schemas = system.tool_schemas(agent="coder-1")
        assert [s["function"]["name"] for s in schemas] == ["fs.read", "fs.write", "math.add"]
        assert schemas[0] == {
            "type": "function",
            "function": {
                "name": "fs.read",
                "description": "Read a file.",
                "parameters": {
                    "type": "object",
                    "properties": {"path": {"title": "Path", "type": "string"}},
                    "required": ["path"],
                    "additionalProperties": False,
                },
            },
        }
        add_schema = schemas[2]["function"]["parameters"]
        assert add_schema["required"] == ["a"]
        assert add_schema["properties"]["b"]["minimum"] == 0
        assert add_schema["properties"]["b"]["description"] == "a non-negative addend"
        assert add_schema["properties"]["b"]["default"] == 1
        assert system.tool_schemas(agent="nobody") == []
        assert len(system.tool_schemas()) == len(ALL_TOOLS)
        with pytest.raises(UnknownAddress):
            system.tool_schemas(agent="ghost")


def test_the_tool_policy_can_be_replaced_at_runtime():
    with tool_system(None) as system:
        system.spawn(Caller, name="a")
        assert system.tool_policy.grants == ()
        assert isinstance(call(system, "a", "fs.read", path="a.txt"), ToolDenied)
        system.tool_policy = ToolPolicy(grants=[Grant("a", "fs.read", Permission.READ_ONLY)])
        assert call(system, "a", "fs.read", path="a.txt") == "alpha"
        assert [s["function"]["name"] for s in system.tool_schemas(agent="a")] == ["fs.read"]
        with pytest.raises(InvalidConfig):
            system.tool_policy = "everything"  # type: ignore[assignment]
