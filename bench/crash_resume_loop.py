"""Twenty kill points of the crash-resume check (CI runs three): a persisted 1,000-branch map is
killed with SIGKILL once a random number of branches has started, then resumed with the same id.

    .venv/bin/python bench/crash_resume_loop.py [--kills 20] [--n 1000] [--sleep-ms 3] [--seed 7]

For each kill point it prints how many branches were saved before the kill, how many ran twice
(in flight at the kill: a side effect outside the database cannot be rolled back with it), and
fails if a saved branch ran again, a branch never ran, or the final state differs from an
uninterrupted run's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))

from crash_resume import kill_and_resume, uninterrupted_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--sleep-ms", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    started = time.perf_counter()
    failures = 0
    twice: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        clean = uninterrupted_run(Path(tmp) / "clean", args.n, args.sleep_ms)
        print("| kill | after started | saved before kill | ran twice | verdict |")
        print("|---|---|---|---|---|")
        for k in range(args.kills):
            kill_after = rng.randint(1, args.n - 50)
            outcome = kill_and_resume(Path(tmp) / f"kill-{k}", args.n, kill_after, args.sleep_ms)
            problems = []
            if not outcome.killed:
                problems.append("finished before the kill")
            if outcome.rerun_after_save:
                problems.append(f"{len(outcome.rerun_after_save)} saved branches ran again")
            if outcome.never_ran:
                problems.append(f"{len(outcome.never_ran)} branches never ran")
            if not outcome.ran_twice <= outcome.ran_before_kill - outcome.saved_before_kill:
                problems.append("a branch not in flight ran twice")
            if outcome.final_state != clean:
                problems.append("final state differs from an uninterrupted run")
            failures += bool(problems)
            twice.append(len(outcome.ran_twice))
            verdict = "; ".join(problems) or "ok"
            print(
                f"| {k + 1} | {kill_after} | {len(outcome.saved_before_kill)} | "
                f"{len(outcome.ran_twice)} | {verdict} |"
            )
    print(
        f"\n{args.kills} kills, {failures} failed; ran twice per kill: median "
        f"{statistics.median(twice):.0f}, max {max(twice)}; {time.perf_counter() - started:.0f} s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
