"""MapOptions, Retry and FailurePolicy refuse values a map could not run with (F527), when they
are made rather than halfway through a run."""

from __future__ import annotations

import random
import threading

import pytest

from flowc.runtime.parallelism import FailurePolicy, InvalidMapOptionsError, MapOptions, Retry


@pytest.mark.parametrize(
    "make",
    [
        lambda: MapOptions(timeout=0),
        lambda: MapOptions(timeout=float("inf")),
        lambda: MapOptions(timeout=threading.TIMEOUT_MAX * 2),
        lambda: MapOptions(max_concurrency=0),
        lambda: Retry(attempts=0),
        lambda: Retry(base_delay=-1),
        lambda: Retry(max_delay=float("inf")),
        lambda: Retry(max_delay=threading.TIMEOUT_MAX, jitter=0.5),
        lambda: FailurePolicy(max_failure_ratio=1.5),
    ],
)
def test_impossible_options_are_refused_when_made(make: object) -> None:
    with pytest.raises(InvalidMapOptionsError) as caught:
        make()  # type: ignore[operator]
    assert caught.value.code == "F527"


def test_the_longest_waits_a_thread_can_make_are_allowed() -> None:
    assert MapOptions(timeout=threading.TIMEOUT_MAX).timeout == threading.TIMEOUT_MAX
    assert Retry(max_delay=threading.TIMEOUT_MAX, jitter=0).max_delay == threading.TIMEOUT_MAX


def test_a_retry_delay_stays_capped_after_thousands_of_attempts() -> None:
    retry = Retry(attempts=5000, base_delay=0.1, factor=2.0, max_delay=5.0, jitter=0.0)
    assert retry.delay(4000, random.Random(0)) == 5.0  # 2.0 ** 3999 overflows a float
