"""The time limit on formula checks holds in the main thread (a signal) and in other threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from grading.scoring import timelimit
from grading.scoring.timelimit import TimeLimitExceeded, call_with_time_limit


def spin(stop: threading.Event | None = None, *, give_up: float = 10) -> Callable[[], int]:
    """A CPU-bound loop, like sympy at work, that runs until told to stop.

    It gives up on its own after ``give_up`` seconds, so that a broken time limit fails
    the test (nothing raised) instead of hanging the run.
    """

    def run() -> int:
        count = 0
        end = time.monotonic() + give_up
        while (stop is None or not stop.is_set()) and time.monotonic() < end:
            count += 1
        return count

    return run


def in_a_thread[T](function: Callable[[], T]) -> T | BaseException:
    """Call ``function`` from a worker thread, as a threaded web server or Celery pool would."""
    outcome: list[T | BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert outcome, "the call did not return"
    return outcome[0]


def wait_for_runaways() -> None:
    """Abandoned computations end once told to stop; wait for that, not for a clock."""
    deadline = time.monotonic() + 5
    while timelimit.abandoned_count() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert timelimit.abandoned_count() == 0


def test_results_and_errors_pass_through() -> None:
    assert call_with_time_limit(lambda: 42, seconds=1) == 42
    with pytest.raises(ZeroDivisionError):
        call_with_time_limit(lambda: 1 // 0, seconds=1)
    assert in_a_thread(lambda: call_with_time_limit(lambda: 42, seconds=1)) == 42
    assert isinstance(in_a_thread(lambda: call_with_time_limit(lambda: 1 // 0, seconds=1)), ZeroDivisionError)


def test_the_main_thread_interrupts_the_computation_itself() -> None:
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        call_with_time_limit(spin(), seconds=0.05)  # runs for 10 s unless the alarm stops it
    assert time.monotonic() - started < 2


def test_a_timer_already_running_is_left_alone() -> None:
    import signal

    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        # With someone else's timer running, the watched-thread way is used instead.
        stop = threading.Event()
        with pytest.raises(TimeLimitExceeded):
            call_with_time_limit(spin(stop), seconds=0.05)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0, "the caller's timer must still be running"
    finally:
        stop.set()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []
    wait_for_runaways()


def test_another_thread_stops_waiting_and_bounds_abandoned_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timelimit, "MAX_ABANDONED", 2)
    wait_for_runaways()
    stop = threading.Event()
    try:
        for expected in (1, 2):
            outcome = in_a_thread(lambda: call_with_time_limit(spin(stop), seconds=0.05))
            assert isinstance(outcome, TimeLimitExceeded)
            assert timelimit.abandoned_count() == expected
        # Two runaway computations are alive: the next call is refused without starting.
        refused = in_a_thread(lambda: call_with_time_limit(lambda: 42, seconds=1))
        assert isinstance(refused, TimeLimitExceeded)
        assert "still running" in str(refused)
    finally:
        stop.set()
    wait_for_runaways()
    assert in_a_thread(lambda: call_with_time_limit(lambda: 42, seconds=1)) == 42
