"""Pausing Python's cyclic garbage collector while the compiler makes long-lived objects.

Parsing, compiling and building allocate tens of thousands of small objects that live as long as
the tree, the IR or the application, and none of them form garbage cycles worth collecting
mid-way; the collector would rescan the growing heap again and again (a third of a parse, half a
compile, a third of a build of a 10,000-action flow).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; restore it after, whatever happens."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
