"""Kill a persisted 1,000-branch fan-out with SIGKILL at a chosen moment, resume it with the same
app id, and check what ran twice. Shared by tests/runtime/test_crash_resume.py (a few kill
points) and bench/crash_resume_loop.py (twenty)."""

from __future__ import annotations

import collections
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).parent / "parallelism_crash_app.py"
ROOT = Path(__file__).parents[2]
CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class CrashOutcome:
    """What one kill-and-resume showed. ``saved_before_kill``: branches whose final state was in
    the database after the kill; ``ran_twice``: branches whose side effect happened twice."""

    kill_after_lines: int
    saved_before_kill: frozenset[int]
    ran_before_kill: frozenset[int]
    ran_twice: frozenset[int]
    never_ran: frozenset[int]
    rerun_after_save: frozenset[int]
    final_state: dict
    killed: bool


def _command(db: Path, effects: Path, n: int, sleep_ms: float) -> list[str]:
    """The app killed from outside only (``--kill-at -1``), printing its whole final state."""
    return [
        *(sys.executable, str(APP), str(db), str(effects)),
        *("--app-id", "crash-app", "--n", str(n), "--concurrency", str(CONCURRENCY)),
        *("--sleep-ms", str(sleep_ms), "--kill-at", "-1", "--print", "state"),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def uninterrupted_run(workdir: Path, n: int, sleep_ms: float) -> dict:
    """The final state of the same run with no kill."""
    workdir.mkdir(parents=True, exist_ok=True)
    db, effects = workdir / "clean.db", workdir / "clean.effects"
    done = subprocess.run(
        _command(db, effects, n, sleep_ms),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _side_effects(path: Path) -> collections.Counter[int]:
    """How many times each branch ran: its index starts each line the app appends."""
    return collections.Counter(int(line.split()[0]) for line in path.read_text().splitlines())


def _saved_branches(db: Path) -> frozenset[int]:
    """Branches whose completed final state ('work' done) is in the database."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT state FROM burr_state WHERE position = 'work' AND status = 'completed'"
        ).fetchall()
    return frozenset(json.loads(text)["i"] for (text,) in rows)


def kill_and_resume(workdir: Path, n: int, kill_after_lines: int, sleep_ms: float) -> CrashOutcome:
    """Start the run, SIGKILL it once ``kill_after_lines`` branches have started, then resume."""
    workdir.mkdir(parents=True, exist_ok=True)
    db, effects = workdir / "crash.db", workdir / "crash.effects"
    command, env = _command(db, effects, n, sleep_ms), _env()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while _lines(effects) < kill_after_lines and process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError("the fan-out did not reach the kill point")
        time.sleep(0.001)
    killed = process.poll() is None
    if killed:
        os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    ran_before = _side_effects(effects)
    saved_before = _saved_branches(db)

    resumed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    if resumed.returncode != 0:
        raise RuntimeError(f"resume failed:\n{resumed.stderr}")
    final_state = json.loads(resumed.stdout.splitlines()[-1])
    ran_total = _side_effects(effects)
    return CrashOutcome(
        kill_after_lines=kill_after_lines,
        saved_before_kill=saved_before,
        ran_before_kill=frozenset(ran_before),
        ran_twice=frozenset(i for i, count in ran_total.items() if count > 1),
        never_ran=frozenset(set(range(n)) - set(ran_total)),
        rerun_after_save=frozenset(i for i in saved_before if ran_total[i] > ran_before[i]),
        final_state=final_state,
        killed=killed,
    )
