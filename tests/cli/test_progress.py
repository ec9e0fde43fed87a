"""``system.run_until(..., progress=True)``: a rich bar on stderr, and no change without it."""

from __future__ import annotations

import threading

import pytest

from actors import AgentActor, InvalidConfig, StopReason, handler
from tests.messages import Ping


class Rally(AgentActor):
    """Answers every Ping by sending the next one to its peer: a conversation without end."""

    def __init__(self, peer: str) -> None:
        super().__init__()
        self.peer = peer

    @handler
    def on_ping(self, msg: Ping) -> None:
        self.tell(self.peer, Ping(n=msg.n + 1))


def rally(system) -> None:
    system.spawn(Rally, "right", name="left")
    system.spawn(Rally, "left", name="right")
    system.tell("left", Ping(n=0))


def test_the_bar_counts_messages_handled_against_max_messages(system, capsys):
    rally(system)

    report = system.run_until(max_messages=200, max_runtime=10, progress=True)

    assert report == StopReason.MAX_MESSAGES
    err = capsys.readouterr().err
    assert "run_until test" in err
    assert "200/200 messages" in err
    assert system.shutdown(drain=0.0)


def test_the_bar_counts_seconds_against_max_runtime_without_max_messages(system, capsys):
    rally(system)

    report = system.run_until(max_runtime=0.3, progress=True)

    assert report == StopReason.MAX_RUNTIME
    err = capsys.readouterr().err
    assert "0.3/0.3s" in err
    assert f"{report.messages} messages" in err
    assert system.shutdown(drain=0.0)


def test_without_limits_the_bar_is_a_spinner_with_the_messages_handled(system, capsys):
    done = threading.Event()
    done.set()

    report = system.run_until(done.is_set, progress=True)

    assert report == StopReason.COMPLETED
    err = capsys.readouterr().err
    assert "run_until test" in err
    assert "0 messages" in err


def test_without_progress_nothing_is_drawn(system, capsys):
    rally(system)

    report = system.run_until(max_messages=50, max_runtime=10)

    assert report == StopReason.MAX_MESSAGES
    assert capsys.readouterr() == ("", "")
    assert system.shutdown(drain=0.0)


def test_a_bad_limit_is_refused_before_any_bar_is_drawn(system, capsys):
    with pytest.raises(InvalidConfig, match="max_runtime must be > 0"):
        system.run_until(max_runtime=0, progress=True)
    assert capsys.readouterr().err == ""


def test_progress_is_the_last_keyword_parameter_of_run_until():
    import inspect

    from actors import ActorSystem

    parameters = list(inspect.signature(ActorSystem.run_until).parameters.values())
    assert parameters[-1].name == "progress"
    assert parameters[-1].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters[-1].default is False
