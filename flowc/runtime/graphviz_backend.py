"""Turning DOT text into SVG, PNG or PDF, with no system Graphviz needed.

Two renderers are known, tried in this order by ``renderer="auto"``:

- ``pygraphviz``: its wheels carry Graphviz itself (the layout library, not the ``dot``
  binary), so ``pip install flowc`` is enough for SVG/PNG/PDF, and every machine draws with
  the same Graphviz version — the same picture everywhere.
- ``dot``: the system Graphviz binary on ``PATH``, used when pygraphviz cannot be imported
  (a platform without wheels); the caller is told why (``Renderer.fallback_reason``).

Writing ``.dot`` needs neither. When no renderer is found, the error names exactly what to
install. Nothing heavy is imported until a picture is actually drawn.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from flowc.errors import FlowBuildError

FORMATS = ("svg", "png", "pdf", "dot")
RENDERERS = ("auto", "pygraphviz", "dot")
INSTALL_HINTS = (
    "install pygraphviz, whose wheels include Graphviz: pip install 'pygraphviz>=1.13'",
    "or install Graphviz so that `dot` is on PATH "
    "(apt-get install graphviz, brew install graphviz, conda install graphviz)",
    "writing .dot needs nothing: flowc render FILE -o out.dot",
)


class RenderError(FlowBuildError):
    """Graphviz could not draw the picture (F462): it rejected the DOT text or crashed."""

    default_code = "F462"


class NoRendererError(RenderError, RuntimeError):
    """Neither pygraphviz nor a system ``dot`` is available (F460)."""

    default_code = "F460"


class UnsupportedFormatError(RenderError, ValueError):
    """An output format (or file suffix) flowc cannot draw, or an unknown renderer (F461)."""

    default_code = "F461"


@dataclass(frozen=True, slots=True)
class Renderer:
    """A way to run Graphviz: ``name`` is ``pygraphviz`` or ``dot``; ``where`` the module file
    or binary path; ``fallback_reason`` says why a preferred renderer was not used."""

    name: str
    where: str
    fallback_reason: str | None = None

    def describe(self) -> str:
        return f"{self.name} ({self.where})"


def check_format(format: str) -> str:
    """``format`` lower-cased, or ``UnsupportedFormatError`` listing the formats."""
    chosen = format.lower().lstrip(".")
    if chosen not in FORMATS:
        raise UnsupportedFormatError(
            f"cannot draw format {format!r}",
            hints=(f"use one of: {', '.join(FORMATS)}",),
        )
    return chosen


def find_renderer(preference: str = "auto") -> Renderer:
    """The renderer to use: ``auto`` tries pygraphviz, then the system ``dot``."""
    if preference not in RENDERERS:
        raise UnsupportedFormatError(
            f"unknown renderer {preference!r}", hints=(f"use one of: {', '.join(RENDERERS)}",)
        )
    reasons: list[str] = []
    if preference in ("auto", "pygraphviz"):
        try:
            import pygraphviz
        except ImportError as exc:  # a platform without wheels, or a broken install
            reasons.append(f"pygraphviz cannot be imported ({exc})")
        else:
            return Renderer("pygraphviz", str(pygraphviz.__file__))
    if preference in ("auto", "dot"):
        binary = shutil.which("dot")
        if binary is not None:
            return Renderer("dot", binary, "; ".join(reasons) or None)
        reasons.append("no `dot` binary on PATH")
    raise NoRendererError(
        "no Graphviz renderer available: " + "; ".join(reasons),
        hints=INSTALL_HINTS,
    )


def render_source(dot: str, format: str, *, renderer: Renderer | str = "auto") -> bytes:
    """Draw DOT text as ``format`` (svg, png, pdf or dot) and return the file's bytes."""
    chosen = check_format(format)
    if chosen == "dot":
        return dot.encode("utf-8")
    if isinstance(renderer, str):
        renderer = find_renderer(renderer)
    if renderer.name == "pygraphviz":
        return _with_pygraphviz(dot, chosen)
    return _with_dot_binary(renderer.where, dot, chosen)


def _with_pygraphviz(dot: str, format: str) -> bytes:
    import pygraphviz

    try:
        graph = pygraphviz.AGraph(string=dot)
        output = graph.draw(format=format, prog="dot")
    except (pygraphviz.DotError, ValueError, OSError) as exc:
        raise RenderError(f"Graphviz (pygraphviz) failed: {exc}") from exc
    if not output:
        raise RenderError(f"Graphviz (pygraphviz) produced no {format} output")
    return bytes(output)


def _with_dot_binary(binary: str, dot: str, format: str) -> bytes:
    try:
        done = subprocess.run(
            [binary, f"-T{format}"],
            input=dot.encode("utf-8"),
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"Graphviz ({binary}) failed: {exc}") from exc
    if done.returncode != 0 or not done.stdout:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise RenderError(f"Graphviz ({binary}) failed: {message}")
    return done.stdout
