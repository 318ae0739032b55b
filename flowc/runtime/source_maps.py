"""Source maps at run time: failures reported in ``.flow`` terms, the path to the failing action
and the user's own Python frames, nothing from inside flowc. In the runtime because both ways of
building a compiled flow use it: ``flowc run`` and the module ``flowc compile`` emits, which
may import only the runtime.

The runtime keeps the exception object and adds notes (``exc.add_note``) as the failure travels
out: the step loop notes the action and its ``.flow`` span (``flowc: in action 'ask' at
f.flow:15:1``), a compiled map notes the failed branch, its item and its graph through
``note_failed_branch`` and the map's ``BranchLabel``s (``flowc: in branch 17 of map 'try_all'
(prompt='…'), graph 'riddle' at f.flow:18:1``), and a failing branch reaches the caller as the
``__cause__`` of the map's error. Read outermost first, those notes are the path: map → item →
graph → action. ``describe_failure`` prints it, the ``.flow`` line of the innermost location with
a caret, and the traceback frames of user code (like Jinja's ``@internalcode`` trimming;
``full=True`` keeps every frame).
"""

from __future__ import annotations

import re
import reprlib
import sys
import sysconfig
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowc.errors import FlowError, Span, caret_excerpt, format_diagnostic

NOTE_PREFIX = "flowc: "
_LOCATION = re.compile(r" at (?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_FLOWC_DIR = str(Path(__file__).resolve().parent.parent)
_STDLIB_DIRS = tuple(
    str(Path(p).resolve()) for p in {sysconfig.get_paths()["stdlib"], sys.prefix} if p
)
_short = reprlib.Repr()
_short.maxstring = 50
_short.maxother = 50


@dataclass(frozen=True, slots=True)
class BranchLabel:
    """What a map's branch is, for the note on its failure: its name in the .flow file (the
    action's, or the graph's), its kind, where it is written, and ``entry``, the action it
    starts with at run time (the runtime knows a branch by that: a graph branch by its entry
    action)."""

    name: str
    kind: str  # "action" or "graph"
    span: Span
    entry: str


def note_failed_branch(
    map_name: str, labels: Sequence[BranchLabel], item_var: str | None, outcome: Any
) -> None:
    """For a map's ``on_branch_complete``: a failed branch's exception gets its branch note."""
    if not outcome.ok:
        outcome.error.add_note(branch_note(map_name, labels, item_var, outcome))


def branch_note(
    map_name: str, labels: Sequence[BranchLabel], item_var: str | None, outcome: Any
) -> str:
    """``flowc: in branch 17 of map 'try_all' (prompt='…'), graph 'riddle' at f.flow:18:1``;
    ``item_var`` is the state key a map's items are bound to (``None``: no items)."""
    label = _label_of(labels, outcome)
    item = ""
    if item_var is not None:
        try:
            item = f" ({item_var}={_short.repr(outcome.state[item_var])})"
        except Exception:  # an input state without the item: name the branch only
            item = ""
    text = f"{NOTE_PREFIX}in branch {outcome.index} of map '{map_name}'{item}"
    if label is not None and label.kind == "graph":
        text += f", graph '{label.name}' at {label.span}"
    elif label is not None:
        text += f", action '{label.name}'"
    return text


def _label_of(labels: Sequence[BranchLabel], outcome: Any) -> BranchLabel | None:
    """The branch that failed: by its index in a positional key (``"i-j"``), else by the action
    it started with (with a ``key`` option the runtime keys a branch ``"<entry>/<key>"``, and
    no two branches of one map can share an entry then: their task keys would collide)."""
    if len(labels) == 1:
        return labels[0]
    head = str(outcome.key).split("-", 1)[0]
    if head.isdigit() and int(head) < len(labels):
        return labels[int(head)]
    for label in labels:
        if label.entry == outcome.action_name:
            return label
    return None


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
    excerpt = caret_excerpt(Span(span.file, span.line, span.col), text)  # a one-column caret
    return "\n".join([f"  --> {span}", *excerpt]) if excerpt else ""


def iter_notes(error: BaseException) -> Iterator[str]:
    """Every note on the chain (flowc's and the user's), outermost first."""
    for exception in chain(error):
        yield from getattr(exception, "__notes__", None) or []
