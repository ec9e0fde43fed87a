"""The test kit: probes, expectations, fault injection, and a pytest plugin.

With regiment installed, pytest loads `actors.testing.plugin` by itself (a ``pytest11`` entry
point), so a test module needs no import to use its fixtures:

```python
def test_the_coder_answers(actor_system, probe):
    actor_system.spawn(Coder, name="coder")
    probe.send("coder", Task(title="x"))
    probe.expect(Patch, diff="+ x")
```

- fixtures ``actor_system`` (a fresh `ActorSystem` per test, checked after it: shut down
  cleanly, no thread leaked, no dead letter the test did not expect) and ``probe`` (a
  `TestProbe` in it); markers ``manual_clock``, ``allow_dead_letters`` and ``actor_system``
  (see `actors.testing.plugin`);
- `TestProbe`: a named participant with ``expect``, ``expect_no_message``, ``fish_for``,
  ``watch`` / ``expect_terminated``, ``send`` and ``reply``;
- `expect_event` and `expect_dead_letter`: wait for what the system published;
- ``system.testing`` (`TestingHooks`): ``fail_next(name, error, times=1)`` makes an agent's next
  handler runs raise, without touching its code.

Nothing here imports pytest but the plugin; failures are assertion errors that list what
did arrive, so the kit works under any test runner.
"""

from actors.testing.expect import expect_dead_letter, expect_event
from actors.testing.hooks import InjectedFault, TestingHooks
from actors.testing.probe import TestProbe
from actors.testing.record import EventRecord

__all__ = [
    "EventRecord",
    "InjectedFault",
    "TestProbe",
    "TestingHooks",
    "expect_dead_letter",
    "expect_event",
]
