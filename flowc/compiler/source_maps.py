"""Runtime failures reported in ``.flow`` terms, as the compiler's commands know them.

The implementation is ``flowc.runtime.source_maps``: a module emitted by ``flowc compile`` reports
its failures the same way and may import only the runtime, so the one implementation lives there
and ``flowc run`` reaches it through this name.
"""

from __future__ import annotations

from flowc.runtime.source_maps import (
    NOTE_PREFIX,
    chain,
    describe_failure,
    flow_path,
    innermost_location,
    is_user_frame,
    iter_notes,
    user_frames,
)

__all__ = [
    "NOTE_PREFIX",
    "chain",
    "describe_failure",
    "flow_path",
    "innermost_location",
    "is_user_frame",
    "iter_notes",
    "user_frames",
]
