"""Tools and permissions: agents with different grants call tools; refusals, limits, events.

A coder may read and write files and fetch URLs (at most 2 fetches a minute); a reviewer may
only read; an intern has nothing. Each agent tries every tool; the system prints what it let
through, what it refused and why, the ToolCalled events and the tool-call counts.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from actors import (
    ActorSystem,
    AgentActor,
    Grant,
    ManualClock,
    Message,
    Permission,
    PolicyViolation,
    ToolCalled,
    ToolPolicy,
    ToolRateLimit,
    handler,
    tool,
)

files = {"README.md": "# regiment"}
files_lock = threading.Lock()


@tool(name="fs.read", level=Permission.READ_ONLY)
def read_file(path: str) -> str:
    """Read a text file."""
    with files_lock:
        return files.get(path, "")


@tool(name="fs.write", level=Permission.READ_WRITE)
def write_file(path: str, text: str) -> int:
    """Write a text file; returns the number of characters written."""
    with files_lock:
        files[path] = text
    return len(text)


@tool(name="http.get", level=Permission.READ_ONLY)
def http_get(url: str, timeout: float = 5.0) -> str:
    """Fetch a URL (pretend: nothing leaves the process)."""
    return f"<html from {url}>"


@tool(name="shell.run", level=Permission.FULL)
def run_shell(command: str) -> str:
    """Run a shell command (pretend)."""
    return f"ran {command}"


class Try(Message):
    tool: str
    arguments: dict[str, Any]


class Worker(AgentActor):
    @handler
    def on_try(self, msg: Try) -> str:
        try:
            result = self.use_tool(msg.tool, **msg.arguments)
        except (PolicyViolation, ValueError) as error:  # denied, rate-limited, bad arguments
            return f"refused: {type(error).__name__}: {error}"
        return f"ok: {result!r}"


ATTEMPTS = [
    Try(tool="fs.read", arguments={"path": "README.md"}),
    Try(tool="fs.write", arguments={"path": "NOTES.md", "text": "hello"}),
    Try(tool="http.get", arguments={"url": "https://example.com"}),
    Try(tool="shell.run", arguments={"command": "ls"}),
]


def main() -> None:
    clock = ManualClock()
    policy = ToolPolicy(
        grants=[
            Grant("role:coder", "fs.*", Permission.READ_WRITE),
            Grant("role:coder", "http.*", Permission.READ_ONLY),
            Grant("role:reviewer", "*", Permission.READ_ONLY),
            Grant("reviewer-1", "http.*", Permission.DENIED),  # a name beats a role
        ],
        rate_limits=[ToolRateLimit("role:coder", "http.*", calls=2, per=60)],
    )
    tools = [read_file, write_file, http_get, run_shell]
    with ActorSystem("tools", clock=clock, tools=tools, tool_policy=policy) as system:
        events: list[ToolCalled] = []
        system.events.subscribe(events.append, ToolCalled, inline=True)
        system.spawn(Worker, name="coder-1", roles=("coder",))
        system.spawn(Worker, name="reviewer-1", roles=("reviewer",))
        system.spawn(Worker, name="intern-1")
        for agent in ("coder-1", "reviewer-1", "intern-1"):
            print(
                f"== {agent} may call:", [s["function"]["name"] for s in system.tool_schemas(agent)]
            )
            for attempt in ATTEMPTS:
                print(f"  {attempt.tool:9} ->", system.ask(agent, attempt, timeout=5))

        print("== coder-1 fetches until the rate limit says no")
        fetch = Try(tool="http.get", arguments={"url": "https://example.org"})
        for _ in range(2):
            print("  http.get  ->", system.ask("coder-1", fetch, timeout=5))
        clock.advance(60)  # a minute later the window has room again
        print("  a minute later ->", system.ask("coder-1", fetch, timeout=5))

        print("== bad arguments")
        bad = Try(tool="fs.write", arguments={"path": "x.md"})
        print("  fs.write  ->", system.ask("coder-1", bad, timeout=5))

        print("== the schema an LLM would get for fs.write")
        print(json.dumps(system.tool_schemas("coder-1")[1], indent=2))
        print("== ToolCalled events:", len(events))
        for event in events[:3]:
            print(f"  {event.agent} {event.tool} {event.outcome.value}")
        print("== tool calls by outcome:", system.metrics().system.tool_calls)
    print("done")


if __name__ == "__main__":
    main()
