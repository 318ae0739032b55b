"""flowc.runtime.process_id: the process id, kept current across forks."""

from __future__ import annotations

import multiprocessing
import os

from flowc.runtime.process_id import current_pid


def test_current_pid_is_this_process_id() -> None:
    assert current_pid() == os.getpid()


def test_current_pid_is_the_childs_own_id_after_a_fork() -> None:
    context = multiprocessing.get_context("fork")
    answers = context.SimpleQueue()

    def report() -> None:
        answers.put((current_pid(), os.getpid()))

    child = context.Process(target=report)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    seen, actual = answers.get()
    assert seen == actual == child.pid != os.getpid()
