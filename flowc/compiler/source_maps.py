"""Runtime failures reported in ``.flow`` terms: the path to the failing action and the user's own
Python frames, nothing from inside flowc.

The runtime keeps the exception object and adds notes (``exc.add_note``) as the failure travels
out: the step loop notes the action and its ``.flow`` span (``flowc: in action 'ask' at
f.flow:15:1``), a map built by the compiler notes the failed branch, its item and its graph
(``flowc: in branch 17 of map 'try_all' (prompt='…'), graph 'riddle' at f.flow:18:1``), and a
failing branch reaches the caller as the ``__cause__`` of the map's error. Read outermost first,
those notes are the path: map → item → graph → action. ``describe_failure`` prints it, the
``.flow`` line of the innermost location with a caret, and the traceback frames of user code
(like Jinja's ``@internalcode`` trimming; ``full=True`` keeps every frame).
"""

from __future__ import annotations

import re
import sys
import sysconfig
import traceback
from collections.abc import Iterator
from pathlib import Path

from flowc.errors import FlowError, Span, format_diagnostic

NOTE_PREFIX = "flowc: "
_LOCATION = re.compile(r" at (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_FLOWC_DIR = str(Path(__file__).resolve().parent.parent)
_STDLIB_DIRS = tuple(
    str(Path(p).resolve()) for p in {sysconfig.get_paths()["stdlib"], sys.prefix} if p
)


def chain(error: BaseException) -> list[BaseException]:
    """The exception and its causes, outermost first (explicit ``__cause__``, else an
    unsuppressed ``__context__``)."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in found:
        found.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    return found


def flow_path(error: BaseException) -> list[str]:
    """The flowc notes along the chain, outermost first, without their prefix."""
    path: list[str] = []
    for exception in chain(error):
        notes = getattr(exception, "__notes__", None) or []
        ours = [n.removeprefix(NOTE_PREFIX) for n in notes if n.startswith(NOTE_PREFIX)]
        path.extend(reversed(ours))
    return path


def innermost_location(error: BaseException) -> Span | None:
    """The ``.flow`` span of the innermost noted location (the failing action, usually)."""
    for note in reversed(flow_path(error)):
        match = _LOCATION.search(note)
        if match:
            return Span(match["file"], int(match["line"]), int(match["col"]))
    return None


def is_user_frame(filename: str) -> bool:
    """A frame of the user's code: not flowc itself, not the standard library, not a package."""
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    if resolved.startswith(_FLOWC_DIR) or filename.startswith("<"):
        return False
    if "site-packages" in resolved or "dist-packages" in resolved:
        return False
    return not any(resolved.startswith(d) for d in _STDLIB_DIRS if "site-packages" not in d)


def user_frames(error: BaseException) -> list[traceback.FrameSummary]:
    """The user-code frames of the innermost exception's traceback."""
    innermost = chain(error)[-1]
    frames = traceback.extract_tb(innermost.__traceback__)
    return [frame for frame in frames if is_user_frame(frame.filename)]


def describe_failure(error: BaseException, *, full: bool = False) -> str:
    """What ``flowc run`` prints for a run that raised: the error, the ``.flow`` path to where
    it happened, the source line, and the user's own traceback frames."""
    lines: list[str] = []
    if isinstance(error, FlowError):
        lines.extend(format_diagnostic(d, error.source) for d in error.diagnostics[:1])
    else:
        lines.append(f"error: {type(error).__name__}: {error}")
    path = flow_path(error)
    for depth, step in enumerate(path):
        lines.append(f"  {'  ' * depth}{'in' if depth == 0 else '→'} {step.removeprefix('in ')}")
    innermost = chain(error)[-1]
    if innermost is not error:
        lines.append(f"caused by {type(innermost).__name__}: {innermost}")
    location = innermost_location(error)
    if location is not None:
        excerpt = _excerpt(location)
        if excerpt:
            lines.append(excerpt)
    if full:
        lines.append("".join(traceback.format_exception(error)).rstrip())
        return "\n".join(lines)
    frames = user_frames(error)
    if frames:
        lines.append("traceback (your code only; --traceback full shows every frame):")
        lines.extend(line.rstrip("\n") for line in traceback.format_list(frames))
    return "\n".join(lines)


def _excerpt(span: Span) -> str:
    try:
        text = Path(span.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    source_lines = text.splitlines()
    if not 1 <= span.line <= len(source_lines):
        return ""
    gutter = " " * len(str(span.line))
    return "\n".join(
        [
            f"  --> {span}",
            f" {span.line} | {source_lines[span.line - 1]}",
            f" {gutter} | {' ' * (span.col - 1)}^",
        ]
    )


def iter_notes(error: BaseException) -> Iterator[str]:
    """Every note on the chain (flowc's and the user's), outermost first."""
    for exception in chain(error):
        yield from getattr(exception, "__notes__", None) or []
