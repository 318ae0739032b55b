"""Parse time of generated .flow files with 100, 1,000 and 10,000 actions.

Each file has one action per line (bound parameters, reads, writes), a transition per action
(every third one conditional), and a map block per 20 actions. Target: 10,000 actions in at most
0.5 s, growing linearly. Run: ``.venv/bin/python bench/parse.py`` (prints µs per action and the
10k/1k ratio; 10 would be linear). "full path" is ``parse_full`` (Lark's contextual lexer and
error recovery, no fast path), measured in the same run: the speed-up of the fast path.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from lark import Token

from flowc.compiler import parse
from flowc.compiler.parse import parse_full
from flowc.grammar import get_parser

SIZES = (100, 1_000, 10_000)


def generate(actions: int) -> str:
    lines = [
        f"flow generated_{actions}",
        "from bench.actions import step, pick",
        "state {",
        "  round: int = 0",
        "  items: list[str] = []",
        "}",
    ]
    for i in range(actions):
        lines.append(f'action a{i} = step(n={i}, label="x{i}") reads k{i} writes k{i + 1}')
    lines.append("start -> a0")
    for i in range(actions - 1):
        condition = f' when round < {i % 7} and k{i} != "done"' if i % 3 == 0 else ""
        lines.append(f"a{i} -> a{i + 1}{condition}")
    for m in range(actions // 20):
        lines += [
            f"map m{m} = [a{m}, a{m + 1}(n=2) as b{m}] for item in items {{",
            "  max_concurrency 8",
            "  retry 2 backoff 0.5s",
            "  reduce out = collect(k1)",
            "}",
        ]
    lines.append(f"a{actions - 1} -> end")
    return "\n".join(lines) + "\n"


BASELINE_TOKEN = re.compile(
    r"(?P<NL>\n[ \t]*)|(?P<WS>[ \t]+)|(?P<NAME>[^\W\d]\w*)|(?P<NUMBER>[+-]?\d[\d_.]*[A-Za-z%]*)"
    r"|(?P<STRING>\"[^\"\n]*\")|(?P<ARROW>->)|(?P<PUNCT>[=(),:\[\]{}.<!])|(?P<COMMENT>#[^\n]*)|(?P<X>.)"
)


def tokenize_only(text: str) -> int:
    """The baseline: one regex pass making a Lark Token per token, with no parsing at all."""
    count = 0
    for match in BASELINE_TOKEN.finditer(text):
        if match.lastgroup != "WS":
            Token(match.lastgroup, match.group())
            count += 1
    return count


def measure_baseline(text: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        tokenize_only(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(text: str, repeats: int, parser: Callable[..., Any] = parse) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        module, diagnostics = parser(text, "bench.flow")
        times.append(time.perf_counter() - start)
        assert module is not None and not diagnostics, diagnostics[:3]
    return statistics.median(times)


def main() -> int:
    start = time.perf_counter()
    sum(1 for _ in range(10_000_000))
    loop = time.perf_counter() - start
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
        f"a bare 10⁷-iteration loop: {loop:.2f} s"
    )
    start = time.perf_counter()
    get_parser()
    print(f"parser start-up (cached tables): {(time.perf_counter() - start) * 1000:.1f} ms")
    results = {}
    for size in SIZES:
        text = generate(size)
        repeats = 5 if size < 10_000 else 3
        seconds = measure(text, repeats)
        full = measure(text, repeats, parse_full)
        baseline = measure_baseline(text, repeats)
        results[size] = seconds
        print(
            f"{size:>6} actions  {len(text) / 1024:5.0f} KiB  {tokenize_only(text):7} tokens"
            f"  parse {seconds * 1000:7.1f} ms  {seconds / size * 1e6:6.1f} µs/action"
            f"  full path {full * 1000:7.1f} ms ({full / seconds:3.1f}x)"
            f"  baseline tokenize {baseline * 1000:6.1f} ms  ratio {seconds / baseline:4.1f}x"
        )
    ratio = results[10_000] / results[1_000]
    print(
        f"ratio 10k/1k: {ratio:.1f} (10 = linear); 10k target 500 ms: "
        f"{'met' if results[10_000] <= 0.5 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
