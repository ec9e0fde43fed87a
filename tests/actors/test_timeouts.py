"""Timeouts: a negative, NaN or infinite ``timeout=`` is an InvalidConfig naming the parameter."""

from __future__ import annotations

import asyncio
import math

import pytest

from actors import ActorSystem, InvalidConfig
from tests.messages import Ping, Recorder

BAD = [-1.0, math.nan, math.inf, -math.inf]

CALLS = {
    "system.ask": lambda s, r, t: s.ask("a", Ping(), timeout=t),
    "system.ask_future": lambda s, r, t: s.ask_future("a", Ping(), timeout=t),
    "system.ask_async": lambda s, r, t: asyncio.run(s.ask_async("a", Ping(), timeout=t)),
    "system.wait": lambda s, r, t: s.wait(t),
    "system.shutdown": lambda s, r, t: s.shutdown(timeout=t),
    "system.shutdown(drain)": lambda s, r, t: s.shutdown(drain=t),
    "ref.ask": lambda s, r, t: r.ask(Ping(), timeout=t),
    "ref.ask_future": lambda s, r, t: r.ask_future(Ping(), timeout=t),
    "ref.ask_async": lambda s, r, t: asyncio.run(r.ask_async(Ping(), timeout=t)),
    "ref.stop": lambda s, r, t: r.stop(timeout=t),
}


@pytest.mark.parametrize("value", BAD, ids=repr)
@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_bad_timeout_is_an_invalid_config_naming_the_parameter(system, call, value):
    ref = system.spawn(Recorder, name="a")
    with pytest.raises(InvalidConfig, match=r"drain|timeout"):
        call(system, ref, value)
    assert ref.ask(Ping(n=1), timeout=5).n == 1  # nothing else was disturbed


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_a_bad_default_ask_timeout_is_refused_at_construction(value):
    with pytest.raises(InvalidConfig, match="ask_timeout"):
        ActorSystem("bad", ask_timeout=value)
