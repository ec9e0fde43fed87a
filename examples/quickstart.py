"""The README's tour, runnable: agents, handlers, direct/role/broadcast, ask, dead letters."""

from __future__ import annotations

import threading

from actors import ActorSystem, AgentActor, Message, handler


class Task(Message):
    title: str


class Patch(Message):
    diff: str


class Hello(Message):
    pass


heard: list[str] = []
all_heard = threading.Event()


class Coder(AgentActor):
    roles = ("coder",)

    @handler
    def on_task(self, task: Task) -> Patch:
        print(f"{self.name} works on {task.title!r} (from {self.context.sender or 'outside'})")
        return Patch(diff=f"+ {task.title}")

    @handler
    def on_hello(self, msg: Hello) -> None:
        heard.append(self.name)
        if len(heard) == 2:
            all_heard.set()


def main() -> None:
    with ActorSystem("quickstart") as system:
        system.spawn(Coder, name="coder-1")
        system.spawn(Coder, name="coder-2")
        system.tell("coder-1", Task(title="fix the bug"))  # direct
        system.tell("role:coder", Task(title="write a test"))  # one coder, round-robin
        print("broadcast reached", system.broadcast(Hello()), "agents")
        patch = system.ask("role:coder", Task(title="docs"), timeout=2.0)
        print("ask answered:", patch)
        print("to nobody:", system.tell("designer", Task(title="logo")), "mailboxes")
        print("dead letters:", [d.reason.value for d in system.dead_letters()])
        assert all_heard.wait(5), "the broadcast did not reach both coders"
    print("done")


if __name__ == "__main__":
    main()
