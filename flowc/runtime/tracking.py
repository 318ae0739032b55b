"""Recording runs on the local disk, and reading them back as trees.

``LocalTrackingClient(project, storage_dir=...)`` is a hook object (``post_application_create``,
``pre_run_step``, ``post_run_step``): attach it with ``with_tracker`` and it cascades to parallel
branches through ``copy()``. Layout under ``<storage_dir>/<project>/``::

    .graphs/<digest>.json       each distinct graph once (10,000 branches share one file)
    <app_id>/metadata.json      app id, partition key, parent pointers, graph digest, time
    <app_id>/log.jsonl          per step: a begin line (action, inputs, start time) and an end
                                line (result, state written, exception, end time)
    <app_id>/children.jsonl     one line per child application spawned or forked from this one

Lines are appended with single ``write`` calls on ``O_APPEND`` descriptors under a lock, so
threads and processes interleave whole lines; a bounded cache of descriptors keeps a run of ten
thousand branches inside a small file-descriptor limit. Tracking never fails a run because of a
value it cannot encode: such a value is written as its type and ``repr``.

The reader side — :func:`load_run`, :func:`list_runs` — is what the CLI and the renderer use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
import traceback
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowc.errors import FlowRuntimeError
from flowc.runtime.process_id import current_pid
from flowc.runtime.serialization import (
    SerializationRegistry,
    StateSerializationError,
    state_values,
)

DEFAULT_STORAGE_DIR = "~/.flowc"
GRAPHS_DIR = ".graphs"  # app_dir_name never yields a leading dot
METADATA_FILENAME = "metadata.json"
LOG_FILENAME = "log.jsonl"
CHILDREN_FILENAME = "children.jsonl"
_PROJECT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_OPEN_FILES = 32
_REPR_LIMIT = 500


class TrackingConfigError(FlowRuntimeError, ValueError):
    """A tracker was given an unusable project name (F534)."""

    default_code = "F534"


class RunNotFoundError(FlowRuntimeError, LookupError):
    """No tracked run has the requested app id in the project (F535)."""

    default_code = "F535"


class TrackingStorageError(FlowRuntimeError, OSError):
    """The tracking directory cannot be created, written or read (F537): ``storage_dir`` lies
    under a regular file, is not writable, the disk is full… Names the path; still an
    ``OSError`` for code that catches those."""

    default_code = "F537"


class TrackingLogError(FlowRuntimeError, ValueError):
    """A tracking file is not what the tracker writes (F536): a line in the middle of a log is
    not JSON, or metadata is unreadable. A torn last line (a crash mid-write) is skipped."""

    default_code = "F536"


@contextmanager
def _storage(doing: str, path: Path) -> Iterator[None]:
    """Turn an ``OSError`` of ``doing`` something to ``path`` into a ``TrackingStorageError``
    naming the path (the one the system names, else ``path``) and what to do about it."""
    try:
        yield
    except OSError as error:
        where = error.filename if isinstance(error.filename, str) else str(path)
        blocking = _file_in_the_way(Path(where))
        if blocking is not None:
            hint = f"{blocking} is a file, not a directory: give a storage_dir that can be one"
        elif isinstance(error, PermissionError):
            hint = "give a storage_dir you can write, or change its permissions"
        else:
            hint = "give a storage_dir on a disk flowc can write to"
        raise TrackingStorageError(
            f"tracking cannot {doing} {where}: {error.strerror or error}",
            hints=(hint, "LocalTrackingClient(project, storage_dir=...); flowc run --track DIR"),
        ) from error


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing part of ``path`` when it is not a directory (so nothing below it
    can be made)."""
    for part in (path, *path.parents):
        if part.exists():
            return None if part.is_dir() else part
    return None


def project_path(project: str, storage_dir: str | os.PathLike[str]) -> Path:
    return Path(os.path.expanduser(os.fspath(storage_dir))) / project


def app_dir_name(app_id: str) -> str:
    """A directory name for an app id: path separators and leading dots are escaped."""
    name = urllib.parse.quote(app_id, safe="")
    return "%2E" + name[1:] if name.startswith(".") else name


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _pointer(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: value.get(k) for k in ("app_id", "sequence_id", "partition_key")}
    return {k: getattr(value, k, None) for k in ("app_id", "sequence_id", "partition_key")}


def _name(value: Any) -> Any:
    return getattr(value, "name", value)


def describe_graph(graph: Any) -> dict[str, Any]:
    """A JSON description of an application graph: actions (name, reads, writes, kind),
    transitions (from, to, condition) and entrypoint, read from whatever of them it has."""
    actions = [
        {
            "name": _name(a),
            "reads": list(getattr(a, "reads", ()) or ()),
            "writes": list(getattr(a, "writes", ()) or ()),
            "kind": type(a).__name__,
        }
        for a in getattr(graph, "actions", ()) or ()
    ]
    transitions = []
    for t in getattr(graph, "transitions", ()) or ():
        if isinstance(t, tuple):
            source, target, *rest = t
            condition = rest[0] if rest else None
        else:
            source = getattr(t, "from_", getattr(t, "source", None))
            target = getattr(t, "to", getattr(t, "target", None))
            condition = getattr(t, "condition", None)
        transitions.append(
            {
                "from": _name(source),
                "to": _name(target),
                "condition": None if condition is None else str(_name(condition)),
            }
        )
    entrypoint = getattr(graph, "entrypoint", None)
    return {
        "actions": actions,
        "transitions": transitions,
        "entrypoint": None if entrypoint is None else _name(entrypoint),
    }


@dataclass(eq=False)
class _TrackerFiles:
    """State shared by a tracker and its copies: a lock, an LRU of append descriptors, and the
    graphs already written (kept alive so their ids cannot be reused)."""

    root: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    descriptors: OrderedDict[Path, int] = field(default_factory=OrderedDict)
    graph_digests: dict[int, tuple[Any, str]] = field(default_factory=dict)
    made_dirs: set[Path] = field(default_factory=set)
    pid: int = field(default_factory=current_pid)

    def append(self, path: Path, line: bytes) -> None:
        with self.lock, _storage("write", path):
            fd = self.descriptors.get(path)
            if fd is None:
                self._make_dir(path.parent)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                self.descriptors[path] = fd
                if len(self.descriptors) > _OPEN_FILES:
                    _, oldest = self.descriptors.popitem(last=False)
                    os.close(oldest)
            else:
                self.descriptors.move_to_end(path)
            os.write(fd, line)

    def write_once(self, path: Path, text: str) -> None:
        """Write a whole file unless it exists (atomically: write aside, then rename)."""
        with self.lock, _storage("write", path):
            if path.exists():
                return
            self._make_dir(path.parent)
            aside = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            aside.write_text(text, encoding="utf-8")
            os.replace(aside, path)

    def graph_digest(self, graph: Any) -> str:
        with self.lock:
            known = self.graph_digests.get(id(graph))
            if known is not None and known[0] is graph:
                return known[1]
        text = json.dumps(describe_graph(graph), sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        self.write_once(self.root / GRAPHS_DIR / f"{digest}.json", text)
        with self.lock:
            self.graph_digests[id(graph)] = (graph, digest)
        return digest

    def _make_dir(self, directory: Path) -> None:
        if directory not in self.made_dirs:
            directory.mkdir(parents=True, exist_ok=True)
            self.made_dirs.add(directory)

    def close(self) -> None:
        with self.lock:
            for fd in self.descriptors.values():
                os.close(fd)
            self.descriptors.clear()


class LocalTrackingClient:
    """Tracks applications (and, through ``copy()``, their branches) under
    ``<storage_dir>/<project>``. Thread-safe; copies share descriptors and locks."""

    def __init__(
        self,
        project: str,
        storage_dir: str | os.PathLike[str] = DEFAULT_STORAGE_DIR,
        serde_kwargs: Mapping[str, Any] | None = None,
        *,
        registry: SerializationRegistry | None = None,
    ) -> None:
        if not _PROJECT_NAME.match(project):
            raise TrackingConfigError(
                f"project name {project!r} cannot be a directory name",
                hints=("use letters, digits, '_', '-' and '.', not starting with '.' or '-'",),
            )
        self.project = project
        self.storage_dir = os.fspath(storage_dir)
        self.serde_kwargs = dict(serde_kwargs or {})
        self.registry = registry or SerializationRegistry.default()
        self._files: _TrackerFiles | None = None

    @property
    def project_id(self) -> str:  # Burr's name
        return self.project

    @property
    def root(self) -> Path:
        return project_path(self.project, self.storage_dir)

    def _shared(self) -> _TrackerFiles:
        files = self._files
        if files is None or files.pid != current_pid():
            files = self._files = _TrackerFiles(self.root)
        return files

    def copy(self) -> LocalTrackingClient:
        """A tracker for a child application, sharing this one's files and lock."""
        child = object.__new__(LocalTrackingClient)
        child.__dict__.update(self.__dict__)
        child._files = self._shared()
        return child

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_files": None}

    def close(self) -> None:
        """Close the cached descriptors (they reopen on the next write)."""
        if self._files is not None:
            self._files.close()

    # -- hooks ----------------------------------------------------------------------------------

    def post_application_create(
        self,
        *,
        app_id: str,
        partition_key: str | None = None,
        state: Any = None,
        application_graph: Any = None,
        parent_pointer: Any = None,
        spawning_parent_pointer: Any = None,
        **future_kwargs: Any,
    ) -> None:
        """Write the app's metadata (once: a resumed app keeps its first) and list it under its
        parent. As in Burr, ``spawning_parent_pointer`` is the parent that spawned this app (a
        map's branch) and ``parent_pointer`` the app it was forked from."""
        files = self._shared()
        spawned_by, forked_from = _pointer(spawning_parent_pointer), _pointer(parent_pointer)
        if forked_from == spawned_by:  # the same parent passed twice: a spawn, not a fork
            forked_from = None
        app_dir = self.root / app_dir_name(app_id)
        metadata = {
            "app_id": app_id,
            "partition_key": partition_key,
            "created_at": _now(),
            "graph": None if application_graph is None else files.graph_digest(application_graph),
            "spawning_parent_pointer": spawned_by,
            "parent_pointer": forked_from,
        }
        if (app_dir / METADATA_FILENAME).exists():
            return
        files.write_once(app_dir / METADATA_FILENAME, json.dumps(metadata))
        for pointer, kind in ((spawned_by, "spawn"), (forked_from, "fork")):
            if pointer is None:
                continue
            parent = pointer
            line = {
                "child": app_id,
                "event_type": kind,
                "sequence_id": parent["sequence_id"],
                "event_time": metadata["created_at"],
            }
            path = self.root / app_dir_name(str(parent["app_id"])) / CHILDREN_FILENAME
            files.append(path, _line(line))

    def pre_run_step(
        self,
        *,
        app_id: str,
        sequence_id: int,
        action: Any,
        inputs: Mapping[str, Any] | None = None,
        **future_kwargs: Any,
    ) -> None:
        entry = {
            "type": "begin_entry",
            "sequence_id": sequence_id,
            "action": _name(action),
            "start_time": _now(),
            "inputs": self._jsonable_mapping(
                {k: v for k, v in (inputs or {}).items() if not k.startswith("__")}
            ),
        }
        self._shared().append(self.root / app_dir_name(app_id) / LOG_FILENAME, _line(entry))

    def post_run_step(
        self,
        *,
        app_id: str,
        sequence_id: int,
        action: Any,
        state: Any = None,
        result: Any = None,
        exception: BaseException | None = None,
        **future_kwargs: Any,
    ) -> None:
        entry = {
            "type": "end_entry",
            "sequence_id": sequence_id,
            "action": _name(action),
            "end_time": _now(),
            "result": self._jsonable_mapping(result) if isinstance(result, Mapping) else None,
            "state": None if state is None else self._jsonable_mapping(state_values(state)),
            "exception": _format_exception(exception),
        }
        self._shared().append(self.root / app_dir_name(app_id) / LOG_FILENAME, _line(entry))

    def _jsonable_mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in values.items():
            try:
                out[key] = self.registry.to_jsonable(value, key, key)
            except StateSerializationError as exc:
                out[key] = {"__unencodable__": exc.value_type, "repr": _short_repr(value)}
            except RecursionError:  # nested too deeply for JSON, or a value holding itself
                out[key] = {"__unencodable__": type(value).__name__, "repr": _short_repr(value)}
        return out

    # -- loader (Burr's LocalTrackingClient is one) --------------------------------------------

    def load(
        self,
        partition_key: str | None,
        app_id: str | None,
        sequence_id: int | None = None,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """The state after a tracked step (the last one, or ``sequence_id``), as a loader."""
        if app_id is None:
            return None
        try:
            run = load_run(self.project, app_id, self.storage_dir, children=False)
        except RunNotFoundError:
            return None
        steps = [s for s in run.steps if s.state is not None]
        if sequence_id is not None:
            steps = [s for s in steps if s.sequence_id == sequence_id]
        if not steps:
            return None
        step = steps[-1]
        from flowc.runtime.state import State  # the core's State, imported late

        return {
            "partition_key": run.partition_key or "",
            "app_id": app_id,
            "sequence_id": step.sequence_id,
            "position": step.action,
            "state": State(self.registry.decode_state(json.dumps(step.state))),
            "created_at": step.end_time,
            "status": "failed" if step.exception else "completed",
        }

    def list_app_ids(self, partition_key: str | None, **kwargs: Any) -> list[str]:
        return [
            r.app_id
            for r in list_runs(self.project, self.storage_dir, include_children=True)
            if (r.partition_key or "") == (partition_key or "")
        ]


def _line(entry: Mapping[str, Any]) -> bytes:
    return (json.dumps(entry, ensure_ascii=False, default=_short_repr) + "\n").encode()


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break tracking
        text = f"<{type(value).__name__}>"
    return text if len(text) <= _REPR_LIMIT else text[:_REPR_LIMIT] + "…"


def _format_exception(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    return "".join(traceback.format_exception(exception)).rstrip()


# -- reader API ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a tracked run. ``end_time`` is None for a step that never finished (the
    process died in it); ``state`` is the state the step wrote (JSON form)."""

    sequence_id: int
    action: str
    start_time: str | None
    end_time: str | None
    inputs: Mapping[str, Any]
    result: Mapping[str, Any] | None
    state: Mapping[str, Any] | None
    exception: str | None

    @property
    def status(self) -> str:
        if self.end_time is None:
            return "running"
        return "failed" if self.exception else "completed"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A tracked application and, when loaded with children, the tree of those it spawned or
    forked (each child in the order it was created)."""

    project: str
    app_id: str
    partition_key: str | None
    created_at: str | None
    spawning_parent: Mapping[str, Any] | None
    forked_from: Mapping[str, Any] | None
    graph: Mapping[str, Any] | None
    steps: tuple[StepRecord, ...]
    children: tuple[RunRecord, ...] = ()

    @property
    def status(self) -> str:
        """completed / failed / running (a step never ended) / created (no step yet)."""
        return self.steps[-1].status if self.steps else "created"

    def walk(self) -> Iterator[RunRecord]:
        """This run, then its descendants depth-first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class RunSummary:
    app_id: str
    partition_key: str | None
    created_at: str | None
    spawning_parent: Mapping[str, Any] | None
    forked_from: Mapping[str, Any] | None


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with _storage("read", path):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    entries = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            entries.append(json.loads(text))
        except json.JSONDecodeError as exc:
            if number == len(lines):  # torn by a crash mid-write: the one line we may lose
                break
            raise TrackingLogError(f"{path}:{number}: not a JSON line ({exc})") from exc
    return entries


def _read_metadata(app_dir: Path) -> dict[str, Any]:
    path = app_dir / METADATA_FILENAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise TrackingLogError(f"{path}: unreadable metadata ({exc})") from exc


def _steps(entries: list[dict[str, Any]]) -> tuple[StepRecord, ...]:
    steps: list[StepRecord] = []
    open_begin: dict[int, dict[str, Any]] = {}
    for entry in entries:
        if entry.get("type") == "begin_entry":
            open_begin[entry["sequence_id"]] = entry
        elif entry.get("type") == "end_entry":
            begin = open_begin.pop(entry["sequence_id"], {})
            steps.append(_step(begin, entry))
    steps.extend(_step(begin, {}) for begin in open_begin.values())
    return tuple(steps)


def _step(begin: dict[str, Any], end: dict[str, Any]) -> StepRecord:
    return StepRecord(
        sequence_id=(end or begin)["sequence_id"],
        action=(end or begin)["action"],
        start_time=begin.get("start_time"),
        end_time=end.get("end_time"),
        inputs=begin.get("inputs") or {},
        result=end.get("result"),
        state=end.get("state"),
        exception=end.get("exception"),
    )


def load_run(
    project: str,
    app_id: str,
    storage_dir: str | os.PathLike[str] = DEFAULT_STORAGE_DIR,
    *,
    children: bool = True,
) -> RunRecord:
    """The tracked run ``app_id`` with its steps and, unless ``children=False``, every
    application it spawned or forked, recursively."""
    root = project_path(project, storage_dir)
    return _load(root, project, app_id, children, seen=set())


def _load(root: Path, project: str, app_id: str, children: bool, seen: set[str]) -> RunRecord:
    app_dir = root / app_dir_name(app_id)
    if not app_dir.is_dir():
        raise RunNotFoundError(
            f"no tracked run '{app_id}' in project '{project}' under {root.parent}",
            hints=("list the project's runs with list_runs(project, storage_dir)",),
        )
    seen.add(app_id)
    metadata = _read_metadata(app_dir)
    graph = None
    if metadata.get("graph"):
        graph_path = root / GRAPHS_DIR / f"{metadata['graph']}.json"
        if graph_path.exists():
            with _storage("read", graph_path):
                text = graph_path.read_text(encoding="utf-8")
            try:
                graph = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TrackingLogError(f"{graph_path}: unreadable graph ({exc})") from exc
    kids: tuple[RunRecord, ...] = ()
    if children:
        child_ids = [
            c["child"] for c in _read_json_lines(app_dir / CHILDREN_FILENAME) if "child" in c
        ]
        kids = tuple(
            _load(root, project, child, True, seen)
            for child in dict.fromkeys(child_ids)
            if child not in seen and (root / app_dir_name(child)).is_dir()
        )
    return RunRecord(
        project=project,
        app_id=app_id,
        partition_key=metadata.get("partition_key"),
        created_at=metadata.get("created_at"),
        spawning_parent=metadata.get("spawning_parent_pointer"),
        forked_from=metadata.get("parent_pointer"),
        graph=graph,
        steps=_steps(_read_json_lines(app_dir / LOG_FILENAME)),
        children=kids,
    )


def list_runs(
    project: str,
    storage_dir: str | os.PathLike[str] = DEFAULT_STORAGE_DIR,
    *,
    include_children: bool = False,
) -> list[RunSummary]:
    """The project's runs, newest first; spawned branches only with ``include_children``."""
    root = project_path(project, storage_dir)
    if not root.is_dir():
        return []
    summaries = []
    with _storage("read", root):
        app_dirs = list(root.iterdir())
    for app_dir in app_dirs:
        if not app_dir.is_dir() or app_dir.name == GRAPHS_DIR:
            continue
        metadata = _read_metadata(app_dir)
        spawned = metadata.get("spawning_parent_pointer")
        if spawned and not include_children:
            continue
        summaries.append(
            RunSummary(
                app_id=metadata.get("app_id") or urllib.parse.unquote(app_dir.name),
                partition_key=metadata.get("partition_key"),
                created_at=metadata.get("created_at"),
                spawning_parent=spawned,
                forked_from=metadata.get("parent_pointer"),
            )
        )
    summaries.sort(key=lambda s: s.created_at or "", reverse=True)
    return summaries
