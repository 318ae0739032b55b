"""Condition language: parse time and evaluation time, against a Python lambda in the same run.

    .venv/bin/python bench/expression.py [--repeats 7] [--number 200000]

Evaluation is timed as ``node.evaluate(state)`` (the call the step loop makes) and as a plain
lambda doing the same work on the same dict; the ratio is what the interpreter costs over
compiled Python. Parse time is uncached (the cache cleared each time) and cached (a hit).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import timeit
from collections.abc import Callable, Mapping
from typing import Any

from flowc.runtime.expression import parse_expression
from flowc.runtime.expression.parser import _parse_cached

CASES: list[tuple[str, Callable[[Mapping[str, Any]], Any]]] = [
    ("counter < 10", lambda s: s["counter"] < 10),
    ("not done and len(items) > 3", lambda s: not s["done"] and len(s["items"]) > 3),
    (
        "config.mode == 'fast' or retries >= 3",
        lambda s: s["config"]["mode"] == "fast" or s["retries"] >= 3,
    ),
]
STATE = {"counter": 3, "done": False, "items": [1, 2, 3, 4], "config": {"mode": "x"}, "retries": 1}


def best_ns(stmt: str, namespace: dict[str, Any], number: int, repeats: int) -> float:
    timer = timeit.Timer(stmt, globals=namespace)
    return min(timer.repeat(repeat=repeats, number=number)) / number * 1e9


def parse_uncached(text: str) -> None:
    _parse_cached.cache_clear()
    parse_expression(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, load {os.getloadavg()[0]:.2f}, {sys.platform}")
    print(
        f"{'expression':40} {'parse µs':>9} {'cached µs':>9} "
        f"{'eval ns':>8} {'lambda ns':>9} {'ratio':>6}"
    )
    for text, baseline in CASES:
        node = parse_expression(text)
        assert node.evaluate(STATE) == baseline(STATE)
        namespace = {"node": node, "s": STATE, "baseline": baseline, "text": text}
        namespace |= {"parse_uncached": parse_uncached, "parse_expression": parse_expression}
        parse_us = best_ns("parse_uncached(text)", namespace, 2_000, args.repeats) / 1e3
        cached_us = best_ns("parse_expression(text)", namespace, 20_000, args.repeats) / 1e3
        evaluate_ns = best_ns("node.evaluate(s)", namespace, args.number, args.repeats)
        lambda_ns = best_ns("baseline(s)", namespace, args.number, args.repeats)
        print(
            f"{text:40} {parse_us:9.1f} {cached_us:9.2f} "
            f"{evaluate_ns:8.0f} {lambda_ns:9.0f} {evaluate_ns / lambda_ns:5.2f}x"
        )


if __name__ == "__main__":
    main()
