"""This process's id, without a system call per question.

Persisters and trackers keep per-process resources (connections, a committer thread, open
files) and must notice when they find themselves in a forked child. ``os.getpid()`` is a system
call (about 0.5 µs on our VMs), and they ask once or more per saved branch or tracked step; the
id only changes at a fork, which ``os.register_at_fork`` reports.
"""

from __future__ import annotations

import os

_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_forked)


def current_pid() -> int:
    """``os.getpid()``, as of the last fork."""
    return _pid
