"""Importing the Python objects a .flow file names (``module:name``), on purpose and nowhere else.

Used by the Python-side checks and by the build. The search path is the importing .flow file's
directory, then the working directory, then ``sys.path`` as it is; the two directories are added
only for the duration of the import. Failures are ``FlowBuildError``s with stable codes (F401: the
module cannot be imported, F402: it has no such name); the caller adds the span.
"""

from __future__ import annotations

import difflib
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flowc.errors import FlowBuildError, Span

F_MODULE_IMPORT = "F401"
F_NAME_MISSING = "F402"


def search_dirs(flow_file: str | None) -> tuple[str, ...]:
    """Directories searched before ``sys.path`` for modules named by ``flow_file``."""
    dirs = []
    if flow_file and not flow_file.startswith("<"):
        dirs.append(str(Path(flow_file).resolve().parent))
    dirs.append(os.getcwd())
    return tuple(dict.fromkeys(dirs))


@contextmanager
def extended_path(dirs: tuple[str, ...]) -> Iterator[None]:
    added = [d for d in dirs if d not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for directory in added:
            if directory in sys.path:
                sys.path.remove(directory)


def import_object(
    module: str, name: str, *, flow_file: str | None, span: Span | None = None
) -> Any:
    """``getattr(import_module(module), name)``, or a ``FlowBuildError`` saying what failed."""
    with extended_path(search_dirs(flow_file)):
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as error:
            missing = error.name or module
            hint = (
                "flowc looks in the .flow file's directory, the working directory and sys.path"
                if missing == module or module.startswith(f"{missing}.")
                else f"module '{module}' itself imports '{missing}', which is not installed"
            )
            raise FlowBuildError(
                f"cannot import module '{module}': {error}",
                code=F_MODULE_IMPORT,
                span=span,
                hints=(hint,),
            ) from error
        except (Exception, SystemExit) as error:  # a user module may do anything as it loads
            raised = (
                f"called sys.exit({error.code!r})"
                if isinstance(error, SystemExit)
                else f"raised {type(error).__name__}: {error}"
            )
            raise FlowBuildError(
                f"importing module '{module}' {raised}",
                code=F_MODULE_IMPORT,
                span=span,
                hints=("fix the error in that module; it runs when it is imported",),
            ) from error
    try:
        return getattr(loaded, name)
    except AttributeError as error:
        public = sorted(n for n in vars(loaded) if not n.startswith("_"))
        close = difflib.get_close_matches(name, public, n=1)
        hint = (
            f"did you mean '{close[0]}'?"
            if close
            else f"'{module}' defines: " + (", ".join(public[:12]) or "nothing public")
        )
        raise FlowBuildError(
            f"module '{module}' has no attribute '{name}'",
            code=F_NAME_MISSING,
            span=span,
            hints=(hint,),
        ) from error
