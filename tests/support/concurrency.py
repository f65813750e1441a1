"""Run the same work in several threads at once, for tests of concurrent workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_together(work: Callable[[int], T], n: int = 2, timeout: float = 120) -> list[T]:
    """Call work(0) .. work(n-1) in n threads released at the same moment; results in order.

    The first exception a thread raised is raised here, so a failing worker fails the test.
    """
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = work(i)
        except BaseException as exc:  # re-raised in the calling thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if any(t.is_alive() for t in threads):
        raise AssertionError(f"a worker was still running after {timeout} s")
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
