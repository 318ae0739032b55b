"""Instructions of one compiler stage on the compile-bench flow, counted exactly by callgrind.

    PYTHONHASHSEED=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        --instr-atstart=no --collect-atstart=no --toggle-collect=starmap_next \
        .venv/bin/python bench/stage_instructions.py STAGE [N]

and read callgrind's "Collected" line. STAGE is parse, lower, checks, build, or all
(``compile_source`` + ``build_application`` in one call, what ``flowc check`` and a build cost);
N is the number of actions (1,000 by default).

Wall-clock time on a shared machine varies by the minute; instruction counts do not. Everything
before the measured call (start-up, imports, a 50-action warm-up, making the stage's input) runs
uninstrumented; ``callgrind_control`` switches instrumentation on just before the call, which
runs inside ``itertools.starmap`` so that only it is collected. One run, ~10 s, no subtraction.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from flowc.compiler import compile_source, parse
from flowc.compiler.build import build_application
from flowc.compiler.checks import run_checks
from flowc.compiler.collector import collector_paused
from flowc.compiler.lower import lower

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compile as compile_bench

STAGES = ("parse", "lower", "checks", "build", "all")


def prepare(size: int) -> tuple[str, Any, Any]:
    text = compile_bench.generate(size)
    module, _ = parse(text, compile_bench.FLOW_FILE)
    return text, module, lower(module, file=compile_bench.FLOW_FILE)


def run(stage: str, text: str, module: Any, ir: Any) -> object:
    """The stage as the compile bench times it (the collector paused as the compiler pauses it;
    "all" pauses it itself for the compile and builds with it on, as ``flowc run`` does)."""
    file = compile_bench.FLOW_FILE
    if stage == "all":
        return compile_source(text, file, import_python=False).build_application()
    with collector_paused():
        if stage == "parse":
            return parse(text, file)
        if stage == "lower":
            return lower(module, file=file)
        if stage == "checks":
            return run_checks(ir, import_python=False)
        return build_application(ir)


def main() -> None:
    stage = sys.argv[1] if len(sys.argv) > 1 else ""
    if stage not in STAGES:
        raise SystemExit(f"usage: stage_instructions.py {{{','.join(STAGES)}}} [N]")
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    run(stage, *prepare(50))  # lazy imports and caches, as in any build after the first
    inputs = prepare(size)
    command = ["callgrind_control", "--instr=on", str(os.getpid())]
    subprocess.run(command, check=True, capture_output=True)
    kept = list(itertools.starmap(run, [(stage, *inputs)]))
    os._exit(0 if kept else 1)  # no teardown: freeing the results is not the stage's cost


if __name__ == "__main__":
    main()
