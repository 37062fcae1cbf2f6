"""Run a CPU-bound computation (sympy) for at most a given time, from any thread.

Two ways, chosen per call:

- In the main thread, when no interval timer is running, ``SIGALRM`` (``setitimer``)
  interrupts the computation itself, so nothing keeps running after the limit. Celery's
  default prefork pool and its solo pool run tasks in the main thread of their process,
  and so do gunicorn's sync workers and management commands.
- Anywhere else (threads of ``runserver``, gunicorn ``gthread``, Celery's ``threads``
  pool) signals cannot be used, so the computation runs in a daemon thread and the caller
  stops waiting at the limit. Python cannot stop a thread: an abandoned computation runs
  on in the background until it ends. To bound the damage, at most ``MAX_ABANDONED`` of
  them may be alive in a process; beyond that, new calls are refused at once.

Green-thread pools (gevent, eventlet) cannot interrupt CPU-bound code at all: score
formulas in a prefork or solo worker.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

MAX_ABANDONED = 4

_abandoned = 0
_abandoned_lock = threading.Lock()


class TimeLimitExceeded(Exception):
    """The computation did not finish within its time limit (or could not be started)."""


class _Alarm(BaseException):
    # A BaseException, like KeyboardInterrupt, so that a broad ``except Exception`` inside
    # sympy cannot swallow the interruption and carry on.
    pass


def call_with_time_limit[T](function: Callable[[], T], *, seconds: float) -> T:
    """Return ``function()``, or raise TimeLimitExceeded once ``seconds`` have passed.

    Exceptions raised by ``function`` propagate unchanged.
    """
    if seconds <= 0:
        raise ValueError("The time limit must be positive.")
    if _can_use_alarm():
        return _call_with_alarm(function, seconds)
    return _call_in_thread(function, seconds)


def _can_use_alarm() -> bool:
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        # Someone else's timer is running (a caller's own time limit): leave it alone.
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )


def _call_with_alarm[T](function: Callable[[], T], seconds: float) -> T:
    finished = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if not finished:
            raise _Alarm

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            result = function()
            finished = True
            return result
        finally:
            finished = True
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Alarm:
        raise TimeLimitExceeded(f"Stopped after {seconds:g} s.") from None
    finally:
        signal.signal(signal.SIGALRM, previous)


def _call_in_thread[T](function: Callable[[], T], seconds: float) -> T:
    global _abandoned
    with _abandoned_lock:
        if _abandoned >= MAX_ABANDONED:
            raise TimeLimitExceeded("Too many earlier computations are still running.")

    done = threading.Event()
    handover = threading.Lock()  # orders "the thread finished" against "the caller gave up"
    results: list[T] = []
    errors: list[BaseException] = []
    abandoned = False

    def run() -> None:
        try:
            results.append(function())
        except BaseException as error:  # handed to the caller, whatever it is
            errors.append(error)
        finally:
            with handover:
                done.set()
                if abandoned:
                    _release_abandoned()

    threading.Thread(target=run, name="scoring-time-limit", daemon=True).start()
    done.wait(seconds)
    with handover:
        if not done.is_set():
            abandoned = True
            with _abandoned_lock:
                _abandoned += 1
            raise TimeLimitExceeded(f"Stopped waiting after {seconds:g} s.")
    if errors:
        raise errors[0]
    return results[0]


def _release_abandoned() -> None:
    global _abandoned
    with _abandoned_lock:
        _abandoned -= 1


def abandoned_count() -> int:
    """How many computations that exceeded their limit in a thread are still running."""
    with _abandoned_lock:
        return _abandoned
