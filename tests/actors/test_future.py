"""actors.Future: completion, waiting, callbacks, pykka compatibility."""

from __future__ import annotations

import queue
import threading

import pytest

from actors import AskTimeout, Future


def test_get_returns_the_value_set_from_another_thread():
    future: Future[int] = Future()
    threading.Thread(target=future.resolve, args=(5,)).start()
    assert future.get(timeout=5) == 5


def test_get_raises_the_stored_error_every_time():
    future: Future[int] = Future()
    error = ValueError("nope")
    future.fail(error)
    for _ in range(2):
        with pytest.raises(ValueError, match="nope") as info:
            future.get(timeout=1)
        assert info.value is error


def test_get_times_out_with_ask_timeout():
    future: Future[int] = Future(what="ask to nobody")
    with pytest.raises(AskTimeout, match="ask to nobody"):
        future.get(timeout=0.05)
    assert not future.done()


def test_a_future_with_a_deadline_gives_up_without_a_caller_timeout():
    future: Future[int] = Future(timeout=0.05)
    with pytest.raises(AskTimeout) as info:
        future.get()
    assert info.value.timeout == 0.05


def test_only_the_first_completion_counts():
    future: Future[str] = Future()
    assert future.resolve("first")
    assert not future.resolve("second")
    assert not future.fail(RuntimeError())
    assert future.get(timeout=1) == "first"


def test_pykka_style_set_twice_raises_queue_full():
    future: Future[int] = Future()
    future.set(1)
    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception((ValueError, ValueError("x"), None))


def test_set_exception_without_arguments_takes_the_current_exception():
    future: Future[int] = Future()
    try:
        raise KeyError("k")
    except KeyError:
        future.set_exception()
    with pytest.raises(KeyError):
        future.get(timeout=1)


def test_callbacks_run_once_on_completion_or_at_once_if_already_done():
    future: Future[int] = Future()
    calls: list[int] = []
    future.add_done_callback(lambda f: calls.append(f.get(timeout=0)))
    assert calls == []
    future.resolve(3)
    future.add_done_callback(lambda f: calls.append(f.get(timeout=0) * 10))
    assert calls == [3, 30]


def test_a_raising_callback_does_not_break_completion():
    future: Future[int] = Future()
    future.add_done_callback(lambda f: 1 / 0)
    seen: list[int] = []
    future.add_done_callback(lambda f: seen.append(1))
    assert future.resolve(1)
    assert seen == [1]


def test_many_waiters_all_wake():
    future: Future[int] = Future()
    results: list[int] = []
    lock = threading.Lock()

    def wait() -> None:
        value = future.get(timeout=5)
        with lock:
            results.append(value)

    threads = [threading.Thread(target=wait) for _ in range(8)]
    for thread in threads:
        thread.start()
    future.resolve(9)
    for thread in threads:
        thread.join(5)
    assert results == [9] * 8


def test_exception_returns_the_error_or_none():
    ok: Future[int] = Future()
    ok.resolve(1)
    assert ok.exception(timeout=1) is None
    bad: Future[int] = Future()
    bad.fail(OSError("x"))
    assert isinstance(bad.exception(timeout=1), OSError)
