"""The look of flowc's pictures: fonts, colours, shapes and label helpers, shared by the
compiler's renderer (``flowc render``) and the runtime's ``visualize`` so that a flow drawn
from a ``.flow`` file and the same flow built in Python look alike.

It lives in the runtime because the runtime may not import the compiler; it imports nothing
(not even ``graphviz``): attributes are plain string mappings, labels are Graphviz HTML-like
label strings (``<…>``), in which user text is always escaped (so a condition such as
``a < 3 and "#" in note`` or a backslash in a string literal is shown as written).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

FONT = "Helvetica,Arial,sans-serif"
MONO = "Courier New,Courier,monospace"
TEXT = "#1f2933"
MUTED = "#616e7c"


@dataclass(frozen=True, slots=True)
class Look:
    """Fill, border and text colour of one kind of box."""

    fill: str
    border: str
    text: str = TEXT


ACTION = Look("#eaf1fb", "#4a6fa5")
MAP = Look("#fff8e6", "#c08a1e", "#7a4f01")
MAP_PART = Look("#fbe8b8", "#c08a1e")
GRAPH = Look("#f2effa", "#6b5b95", "#45386b")
UNKNOWN = Look("#fdecea", "#c53030", "#9b2c2c")
MARKER = Look("#37474f", "#37474f", "#ffffff")

CONDITION_COLOR = "#2b6cb0"
DEFAULT_EDGE_COLOR = "#52606d"
MAP_EDGE_COLOR = "#c08a1e"

STATUS_LOOKS: Mapping[str, Look] = MappingProxyType(
    {
        "done": Look("#dcf2e3", "#2f855a", "#1c4532"),
        "failed": Look("#fde2e1", "#c53030", "#742a2a"),
        "running": Look("#fef3c7", "#b7791f", "#744210"),
        "not reached": Look("#f4f4f5", "#a1a1aa", "#71717a"),
    }
)
"""Colours of a tracked run's overlay, by status."""

RANKDIRS = ("LR", "TB")


def graph_attributes(rankdir: str) -> dict[str, str]:
    """Attributes of the whole picture."""
    return {
        "rankdir": rankdir,
        "fontname": FONT,
        "fontsize": "12",
        "fontcolor": TEXT,
        "bgcolor": "white",
        "nodesep": "0.3",
        "ranksep": "0.45",
        "pad": "0.25",
        "labelloc": "t",
        "labeljust": "l",
    }


def node_defaults() -> dict[str, str]:
    return {
        "fontname": FONT,
        "fontsize": "11",
        "fontcolor": TEXT,
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": ACTION.fill,
        "color": ACTION.border,
        "penwidth": "1.2",
        "margin": "0.14,0.06",
    }


def edge_defaults() -> dict[str, str]:
    return {
        "fontname": FONT,
        "fontsize": "9",
        "color": DEFAULT_EDGE_COLOR,
        "fontcolor": MUTED,
        "arrowsize": "0.7",
        "penwidth": "1.1",
    }


def box(look: Look, *, style: str = "rounded,filled", shape: str = "box") -> dict[str, str]:
    """Node attributes drawing a box in ``look``."""
    return {
        "shape": shape,
        "style": style,
        "fillcolor": look.fill,
        "color": look.border,
        "fontcolor": look.text,
    }


def marker(name: str, *, halt: bool) -> dict[str, str]:
    """The small round ``start``/``end`` markers of a scope."""
    return {
        "label": name,
        "shape": "doublecircle" if halt else "circle",
        "style": "filled",
        "fillcolor": MARKER.fill,
        "color": MARKER.border,
        "fontcolor": MARKER.text,
        "fontsize": "8",
        "width": "0.38" if halt else "0.45",
        "fixedsize": "true",
        "class": "marker halt" if halt else "marker entry",
    }


def cluster_attributes(look: Look, *, style: str = "rounded,filled") -> dict[str, str]:
    return {
        "style": style,
        "fillcolor": look.fill,
        "color": look.border,
        "fontcolor": look.text,
        "fontname": FONT,
        "fontsize": "10",
        "penwidth": "1.3",
        "margin": "12",
        "labeljust": "l",
    }


# ---- HTML-like labels ------------------------------------------------------------------------

# The most characters of one piece of label text, and of a tooltip; longer ones are cut with
# "…". A drawing has no use for a 5 MB bound string, and Graphviz refuses a label or an
# attribute longer than 16,384 characters: the whole drawing would fail.
LONGEST_TEXT = 200
LONGEST_TOOLTIP = 1_000


def shorten(text: str, width: int) -> str:
    """``text``, or its first ``width - 1`` characters and "…"."""
    return text if len(text) <= width else text[: width - 1] + "…"


def escape(text: str) -> str:
    """``text`` made safe inside a Graphviz HTML-like label: markup characters escaped and any
    run of whitespace (a condition written over several lines) shown as one space; cut at
    ``LONGEST_TEXT``."""
    flat = shorten(" ".join(text.split()), LONGEST_TEXT)
    return (
        flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def bold(text: str) -> str:
    return f"<B>{escape(text)}</B>"


def small(text: str, *, color: str = MUTED, size: int = 9, mono: bool = False) -> str:
    face = f' FACE="{MONO}"' if mono else ""
    return f'<FONT POINT-SIZE="{size}" COLOR="{color}"{face}>{escape(text)}</FONT>'


def html(lines: Iterable[str], *, left: bool = False) -> str:
    """An HTML-like label of already-marked-up ``lines``, one per row (centred, or flush left
    for captions)."""
    if left:
        return "<" + "".join(f'{line}<BR ALIGN="LEFT"/>' for line in lines) + ">"
    return "<" + "<BR/>".join(lines) + ">"


def tooltip(text: str) -> str:
    """A tooltip value, cut at ``LONGEST_TOOLTIP``: Graphviz reads backslashes in it as
    escapes, so they are doubled."""
    return shorten(" ".join(text.split()), LONGEST_TOOLTIP).replace("\\", "\\\\")


def wrap(pieces: Iterable[str], width: int = 58, separator: str = " · ") -> list[str]:
    """Join ``pieces`` with ``separator`` into lines of at most ``width`` characters (a piece is
    never split), for compact captions."""
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{separator}{piece}" if current else piece
        if current and len(candidate) > width:
            lines.append(current)
            current = piece
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def format_seconds(seconds: float) -> str:
    """A duration for a label: ``<1 ms``, ``12 ms``, ``1.24 s``, ``3 min 05 s``."""
    if seconds < 0.001:
        return "<1 ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
