"""A supervision tree under injected faults: what each strategy restarts, and when it escalates.

Nothing in the agents' code fails: `system.testing.fail_next(name, error)` makes an agent's next
handler run raise, the way a test (or a chaos drill) would. The story:

1. one-for-one: a fault in ``parser`` restarts only ``parser``; ``indexer`` keeps its state;
2. one-for-all: a fault in ``db`` restarts ``db`` and ``cache`` together;
3. a burst of faults in ``parser`` spends its supervisor's budget (2 restarts within 60 s):
   ``ingest`` escalates, and the root restarts the whole ``ingest`` subtree, fresh.

Events are read with `actors.testing.expect_event`, which waits (bounded) for each one.
"""

from __future__ import annotations

from actors import ActorSystem, AgentActor, AgentRestarted, Escalated, Message, handler
from actors.testing import expect_event
from supervision import ChildSpec, RestartPolicy, Strategy, SupervisorSpec


class Work(Message):
    item: str


class Count(Message):
    pass


class Stage(AgentActor):
    """Counts the items it handled; a restart starts it from zero."""

    def __init__(self) -> None:
        super().__init__()
        self.done = 0

    @handler
    def on_work(self, work: Work) -> int:
        self.done += 1
        return self.done

    @handler
    def on_count(self, _: Count) -> int:
        return self.done


def counts(system: ActorSystem, *names: str) -> dict[str, int]:
    return {name: system.ask(name, Count(), timeout=5.0) for name in names}


def main() -> None:
    with ActorSystem("faults", root_policy=RestartPolicy(max_restarts=5, within=60.0)) as system:
        system.testing.record()  # expect_event sees every event from here on
        system.start_tree(
            SupervisorSpec(
                "ingest",
                [ChildSpec(Stage, name="parser"), ChildSpec(Stage, name="indexer")],
                strategy=Strategy.ONE_FOR_ONE,
                policy=RestartPolicy(max_restarts=2, within=60.0),
            )
        )
        system.start_tree(
            SupervisorSpec(
                "storage",
                [ChildSpec(Stage, name="db"), ChildSpec(Stage, name="cache")],
                strategy=Strategy.ONE_FOR_ALL,
            )
        )
        for name in ("parser", "indexer", "db", "cache"):
            for n in range(3):
                system.ask(name, Work(item=f"{name}-{n}"), timeout=5.0)
        print("before any fault:", counts(system, "parser", "indexer", "db", "cache"))

        # 1. one-for-one: only the failing child restarts.
        system.testing.fail_next("parser", RuntimeError("corrupt input"))
        system.tell("parser", Work(item="bad"))
        expect_event(system, AgentRestarted, name="parser", timeout=5.0)
        print("one-for-one, parser failed:", counts(system, "parser", "indexer"))

        # 2. one-for-all: the failing child's siblings restart with it.
        system.testing.fail_next("db", ConnectionError("db connection reset"))
        system.tell("db", Work(item="write"))
        expect_event(system, AgentRestarted, name="db", timeout=5.0)
        expect_event(system, AgentRestarted, name="cache", timeout=5.0)
        print("one-for-all, db failed:", counts(system, "db", "cache"))

        # 3. two more faults: ingest's budget (2 within 60 s) is spent and it escalates.
        for n in range(3):
            system.ask("indexer", Work(item=f"again-{n}"), timeout=5.0)
        system.testing.fail_next("parser", RuntimeError("corrupt input"), times=2)
        system.tell("parser", Work(item="bad-1"))
        system.tell("parser", Work(item="bad-2"))
        escalated = expect_event(system, Escalated, supervisor="ingest", timeout=5.0)
        print(f"ingest escalated: {escalated.cause}")
        expect_event(system, AgentRestarted, name="ingest", timeout=5.0)
        print("the root restarted ingest, fresh:", counts(system, "parser", "indexer"))
        print(system.tree())
        letters = system.dead_letter_counts()
        print(f"failed messages dead-lettered: {sum(letters.values())}")
    print("fault drill done")


if __name__ == "__main__":
    from loguru import logger

    logger.remove()  # the crashes are the point here: keep the output to the story
    main()
