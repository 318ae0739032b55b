"""What ``flowc check`` costs on large but valid inputs, per byte, against the ordinary flow.

A .flow file is rarely big, but when one is — a generated state block of 20,000 fields on one
line, a 5 MB prompt as a string default, a condition of 50,000 terms — every stage must stay
linear in it, never quadratic, never recursive. Each case is checked as ``flowc check
--no-import FILE`` checks it (the file read, parsed, lowered and checked, every diagnostic
rendered as text with its excerpt); the baseline, measured in the same run, is the same work on
the 10,000-action compile-bench flow. A ratio near 1 means the case costs what ordinary text
costs per byte. Before session 8, the `+` chain crashed (RecursionError), the 20,000 fields ran
out of memory (the whole line under each warning) and the 5 MB string took 15 s.

Run: ``.venv/bin/python bench/large_inputs.py``
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flowc.commands.check import diagnose
from flowc.commands.report import render_report

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compile as compile_bench

FILE = "large.flow"
HEAD = "flow large\nfrom m import f\n"
TWO_ACTIONS = "action a = f reads x writes x\naction b = f reads x writes x\nstart -> a\n"


def _state_fields(count: int) -> str:
    fields = ", ".join(f"k{i}: int = {i}" for i in range(count))
    return f"{HEAD}state {{ x: int = 0, {fields} }}\n{TWO_ACTIONS}a -> b -> end\n"


def _condition(terms: list[str], joiner: str) -> str:
    arrows = f"a -> b when {joiner.join(terms)}\na -> end\nb -> end\n"
    return f"{HEAD}state {{ x: int = 1 }}\n{TWO_ACTIONS}{arrows}"


def _string(size: int) -> str:
    return (
        f'{HEAD}state {{ x: int = 0, prompt: str = "{"y" * size}" }}\n{TWO_ACTIONS}a -> b -> end\n'
    )


def _list(items: int) -> str:
    values = ", ".join("1" for _ in range(items))
    return f"{HEAD}state {{ x: int = 0, xs: list[int] = [{values}] }}\n{TWO_ACTIONS}a -> b -> end\n"


def _path(steps: int) -> str:
    names = [f"s{i}" for i in range(steps)]
    actions = "".join(f"action {name} = f reads x writes x\n" for name in names)
    return f"{HEAD}state {{ x: int = 0 }}\n{actions}start -> {' -> '.join(names)} -> end\n"


CASES: dict[str, Callable[[], str]] = {
    "20,000 state fields on one line (20,000 warnings)": lambda: _state_fields(20_000),
    "a 5 MB string default": lambda: _string(5_000_000),
    "a condition of 50,000 `and` terms": lambda: _condition(["x > 0"] * 50_000, " and "),
    "a condition of 50,000 `+` terms": lambda: _condition(["x"] * 50_000, " + "),
    "a list default of 200,000 items": lambda: _list(200_000),
    "a 20,000-step chain on one line": lambda: _path(20_000),
}


def check(path: Path) -> int:
    """What ``flowc check --no-import FILE`` does, printing aside: the length of its report."""
    found, text = diagnose(path, import_python=False, strict=False)
    return len(render_report(found, {str(path): text}))


def timed(work: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    loop_s = timed(lambda: sum(1 for _ in range(10_000_000)))
    print(f"load average {os.getloadavg()[0]:.2f}, a bare 10⁷-iteration loop: {loop_s:.2f} s")
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / FILE
        size = path.write_text(compile_bench.generate(10_000), encoding="utf-8")
        baseline = statistics.median(timed(lambda: check(path)) for _ in range(3))
        per_byte = baseline / size
        print(f"baseline: the 10,000-action compile-bench flow, {size / 1e6:.2f} MB")
        print(f"  {baseline:.3f} s, {per_byte * 1e9:.0f} ns per byte")
        print(
            f"{'case':<52} {'MB':>6} {'s':>7} {'ns/byte':>8} {'× baseline':>11} {'report MB':>10}"
        )
        for name, make in CASES.items():
            size = path.write_text(make(), encoding="utf-8")
            report = check(path)
            seconds = statistics.median(timed(lambda: check(path)) for _ in range(3))
            print(
                f"{name:<52} {size / 1e6:>6.2f} {seconds:>7.3f} {seconds / size * 1e9:>8.0f}"
                f" {seconds / size / per_byte:>10.2f}× {report / 1e6:>10.2f}"
            )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
