"""Saving and loading application state: the loader/saver protocols and the SQLite persister.

The protocol is Burr's, duck-typed (docs/internals.md, "Runtime seams"): a loader has
``load(partition_key, app_id, sequence_id=None)`` and ``list_app_ids(partition_key)``; a saver has
``initialize()`` and ``save(partition_key, app_id, sequence_id, position, state, status)``. The
``Base*`` classes are there for code written against Burr that subclasses them.

:class:`SQLitePersister` is the embedded default. One persister and all its ``copy()``s share a
single :class:`_SQLiteStore`: one writer connection, owned by a writer process
(``persistence_writer``) or a committer thread (``persistence_commit``), plus one reader
connection per thread that reads — never a connection per child. Saves are group-committed: rows
from many threads are queued and written in one transaction per batch, so a fan-out of thousands
of branches costs a handful of fsyncs. ``save`` on the persister the user made waits until its row
(and every row queued before it, including all its children's) is committed; saves through copies
(children) return once queued. Commits are FIFO, so when a parent's save returns, every branch
that finished before it is durable (docs/persistence.md has the argument and the figures).
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from flowc.errors import FlowRuntimeError
from flowc.runtime.persistence_commit import (
    PARTITION_KEY_DEFAULT,
    CommitLedger,
    GroupCommitter,
    PersistenceError,
    StoreSettings,
    create_schema,
    open_connection,
)
from flowc.runtime.process_id import current_pid
from flowc.runtime.serialization import SerializationRegistry, state_values

__all__ = [
    "PARTITION_KEY_DEFAULT",
    "AsyncBaseStateLoader",
    "AsyncBaseStatePersister",
    "AsyncBaseStateSaver",
    "AsyncSQLitePersister",
    "AsyncStateLoader",
    "AsyncStatePersister",
    "AsyncStateSaver",
    "BaseStateLoader",
    "BaseStatePersister",
    "BaseStateSaver",
    "InMemoryPersister",
    "PersistedStateData",
    "PersistenceError",
    "PersisterConfigError",
    "SQLLitePersister",
    "SQLitePersister",
    "StateLoader",
    "StatePersister",
    "StateSaver",
]

Status = Literal["completed", "failed"]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
_WRITERS = ("process", "thread")


class PersisterConfigError(FlowRuntimeError, ValueError):
    """A persister was given an unusable setting (F533): a table name that is not an
    identifier, an unknown ``synchronous`` level, or a status other than completed/failed."""

    default_code = "F533"


class PersistedStateData(TypedDict):
    """What a loader returns: where an application was, and the state it had there."""

    partition_key: str
    app_id: str
    sequence_id: int
    position: str
    state: Any  # a flowc State
    created_at: str
    status: str


# -- protocols ----------------------------------------------------------------------------------


@runtime_checkable
class StateLoader(Protocol):
    def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None
    ) -> PersistedStateData | None: ...

    def list_app_ids(self, partition_key: str | None) -> list[str]: ...


@runtime_checkable
class StateSaver(Protocol):
    def initialize(self) -> None: ...

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
    ) -> None: ...


@runtime_checkable
class StatePersister(StateLoader, StateSaver, Protocol):
    """Both a loader and a saver; the usual case."""


@runtime_checkable
class AsyncStateLoader(Protocol):
    async def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None
    ) -> PersistedStateData | None: ...

    async def list_app_ids(self, partition_key: str | None) -> list[str]: ...


@runtime_checkable
class AsyncStateSaver(Protocol):
    async def initialize(self) -> None: ...

    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
    ) -> None: ...


@runtime_checkable
class AsyncStatePersister(AsyncStateLoader, AsyncStateSaver, Protocol):
    """The async twin of :class:`StatePersister`."""


class BaseStateLoader(abc.ABC):
    """Burr's base class for loaders, for code that subclasses it."""

    @abc.abstractmethod
    def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kw
    ) -> PersistedStateData | None: ...

    @abc.abstractmethod
    def list_app_ids(self, partition_key: str | None, **kw: Any) -> list[str]: ...

    def is_async(self) -> bool:
        return False


class BaseStateSaver(abc.ABC):
    """Burr's base class for savers, for code that subclasses it."""

    def initialize(self) -> None:  # noqa: B027 - optional to override, as in Burr
        """Create tables or whatever storage needs; safe to call more than once."""

    def is_initialized(self) -> bool:
        return True

    @abc.abstractmethod
    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
        **kw: Any,
    ) -> None: ...

    def is_async(self) -> bool:
        return False


class BaseStatePersister(BaseStateLoader, BaseStateSaver, abc.ABC):
    """A loader and a saver in one."""


class AsyncBaseStateLoader(abc.ABC):
    @abc.abstractmethod
    async def load(
        self, partition_key: str | None, app_id: str | None, sequence_id: int | None = None, **kw
    ) -> PersistedStateData | None: ...

    @abc.abstractmethod
    async def list_app_ids(self, partition_key: str | None, **kw: Any) -> list[str]: ...

    def is_async(self) -> bool:
        return True


class AsyncBaseStateSaver(abc.ABC):
    async def initialize(self) -> None:  # noqa: B027 - optional to override, as in Burr
        """Create tables or whatever storage needs; safe to call more than once."""

    @abc.abstractmethod
    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
        **kw: Any,
    ) -> None: ...

    def is_async(self) -> bool:
        return True


class AsyncBaseStatePersister(AsyncBaseStateLoader, AsyncBaseStateSaver, abc.ABC):
    """The async twin of :class:`BaseStatePersister`."""


# -- helpers shared by the persisters ------------------------------------------------------------


_STATUSES = ("completed", "failed")


def _check_status(status: str) -> None:
    if status not in _STATUSES:
        raise PersisterConfigError(
            f"status must be 'completed' or 'failed', got {status!r}",
            hints=("the step loop saves 'completed' after a step and 'failed' when it raised",),
        )


def _make_state(values: dict[str, Any]) -> Any:
    from flowc.runtime.state import State  # the core's State; imported late to keep layers apart

    return State(values)


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


# -- SQLite --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Preload:
    """The latest saved row of each app of one id prefix (a map invocation's children), read in
    one query; each app's first load is answered from it, later ones from the database."""

    rows: dict[str, tuple[Any, ...]]
    served: set[str] = field(default_factory=set)


_NOT_PRELOADED = object()
_ROW_COLUMNS = "partition_key, app_id, sequence_id, position, state, created_at, status"
"""What ``load`` reads of a row, in the order ``SQLitePersister._loaded`` takes them."""


def _committer(settings: StoreSettings, writer: str) -> CommitLedger:
    """The writer process when asked for and one can be started, else the committer thread."""
    if writer == "process":
        from flowc.runtime.persistence_writer import WriterProcess

        try:
            return WriterProcess.start(settings)
        except (OSError, ValueError):  # no process here, or settings a process cannot be sent
            pass
    return GroupCommitter(settings)


class _SQLiteStore:
    """Everything a persister and its copies share: per-thread reader connections and the
    committer. Recreated after a fork or an unpickle, so connections never cross processes."""

    def __init__(self, settings: StoreSettings, writer: str) -> None:
        self.settings = settings
        self.pid = current_pid()
        self.local = threading.local()
        self.schema_ready = False
        self.committer = _committer(settings, writer)
        self.preloads_lock = threading.Lock()
        self.preloads: dict[tuple[str, str], _Preload] = {}  # (partition, id prefix) -> rows
        # When the last persister sharing this store goes away, or at interpreter exit, queued
        # rows are committed and the thread stops. The finalizer holds the committer, not us.
        weakref.finalize(self, self.committer.close)

    def reader(self) -> sqlite3.Connection:
        """This thread's connection; a new one if there is none or the caller closed it."""
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            try:
                connection.total_changes  # noqa: B018 - raises once the connection is closed
                return connection
            except sqlite3.ProgrammingError:
                pass
        connection = open_connection(self.settings)
        self.local.connection = connection
        return connection

    def query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        try:
            return self.reader().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise PersistenceError(
                f"reading the state database {self.settings.db_path!r} failed: {exc}"
            ) from exc

    def take_preloaded(self, partition_key: str, app_id: str) -> Any:
        """The preloaded row of ``app_id`` (None: it had none) the first time it is asked for;
        ``_NOT_PRELOADED`` when its prefix was not preloaded or it was served already."""
        prefix, dash, _ = app_id.partition("-")
        if not dash or not self.preloads:
            return _NOT_PRELOADED
        with self.preloads_lock:
            preload = self.preloads.get((partition_key, prefix))
            if preload is None or app_id in preload.served:
                return _NOT_PRELOADED
            preload.served.add(app_id)
            return preload.rows.get(app_id)

    def close_reader(self) -> None:
        connection = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
            self.local.connection = None


class SQLitePersister(BaseStatePersister):
    """State persistence in one SQLite file, safe from many threads and processes at once.

    ``SQLitePersister(db_path)`` works under any thread pool with no extra arguments.
    ``connect_kwargs`` go to ``sqlite3.connect`` (``check_same_thread`` is accepted and ignored:
    connections never leave their thread). ``synchronous`` is SQLite's level in WAL mode: ``FULL``
    (default) makes every commit survive power loss; ``NORMAL`` survives a killed process but may
    lose the last commits on power loss, and is much faster on disks with slow fsync.
    ``wait_for_commit`` (default: True here, False in copies) says whether ``save`` returns only
    once its row is durable; ``serde_kwargs`` is accepted for Burr compatibility (unused);
    ``registry`` picks the codecs for non-JSON values.
    """

    PARTITION_KEY_DEFAULT = PARTITION_KEY_DEFAULT

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        table_name: str = "burr_state",
        serde_kwargs: Mapping[str, Any] | None = None,
        connect_kwargs: Mapping[str, Any] | None = None,
        *,
        synchronous: str = "FULL",
        busy_timeout_s: float = 30.0,
        linger_s: float = 0.002,
        registry: SerializationRegistry | None = None,
        wait_for_commit: bool = True,
        writer: str = "thread",
    ) -> None:
        if writer not in _WRITERS:
            raise PersisterConfigError(
                f"writer must be 'process' or 'thread', got {writer!r}",
                hints=("'process' writes from a child process, 'thread' from this one",),
            )
        if not _IDENTIFIER.match(table_name):
            raise PersisterConfigError(
                f"table name {table_name!r} is not a plain SQL identifier",
                hints=("use letters, digits and underscores, starting with a letter",),
            )
        level = synchronous.upper()
        if level not in _SYNCHRONOUS:
            raise PersisterConfigError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        self.db_path = os.fspath(db_path)
        self.table_name = table_name
        self.serde_kwargs = dict(serde_kwargs or {})
        self.connect_kwargs = {
            k: v for k, v in (connect_kwargs or {}).items() if k != "check_same_thread"
        }
        self.synchronous = level
        self.busy_timeout_s = busy_timeout_s
        self.linger_s = linger_s
        self.registry = registry or SerializationRegistry.default()
        self.wait_for_commit = wait_for_commit
        self.writer = writer
        self._home_pid = current_pid()
        self._store_lock = threading.Lock()
        self._store: _SQLiteStore | None = None
        self._child: SQLitePersister | None = None

    # -- sharing --------------------------------------------------------------------------------

    def _shared(self) -> _SQLiteStore:
        store = self._store
        if store is not None and store.pid == current_pid():
            return store
        with self._store_lock:  # one store, even when many threads make their first save at once
            store = self._store
            if store is not None and store.pid == current_pid():
                return store
            store = _SQLiteStore(
                StoreSettings(
                    self.db_path,
                    self.table_name,
                    tuple(sorted(self.connect_kwargs.items())),
                    self.synchronous,
                    self.busy_timeout_s,
                    self.linger_s,
                ),
                # a copy that crossed to another process (pickled, forked) writes from a thread
                self.writer if self._home_pid == current_pid() else "thread",
            )
            self._store = store
        return store

    @property
    def shares_copies(self) -> bool:
        """Whether ``copy()`` returns the same object every time (until a fork), so that a map
        asks once per invocation instead of once per branch: yes, unless a subclass overrides
        ``copy``."""
        return type(self).copy is SQLitePersister.copy

    def copy(self) -> SQLitePersister:
        """A persister for a child application: same database, same connections and committer
        (no new connection), saves that return once queued. The parent's next save waits for
        them, because commits happen in order. A copy holds nothing of its own, so one copy
        serves every child of this persister (a map asks for one per branch), and a copy's copy
        is the copy itself."""
        store = self._shared()
        if not self.wait_for_commit:
            return self
        child = self._child
        if child is None or child._store is not store:
            child = object.__new__(SQLitePersister)
            child.__dict__.update(self.__dict__)
            child._store = store
            child._child = None
            child.wait_for_commit = False
            self._child = child
        return child

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_store"] = None
        state["_child"] = None
        del state["_store_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._store_lock = threading.Lock()
        self._child = None
        # In another process no parent shares our queue, so nobody would wait for our rows:
        # each save waits for its own commit there.
        self.wait_for_commit = True

    def __enter__(self) -> SQLitePersister:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    # -- the protocol ---------------------------------------------------------------------------

    def initialize(self) -> None:
        """Create the table and index if missing, switch the file to WAL mode and open the
        connection that writes. Cheap after the first call through this persister or any of
        its copies."""
        store = self._shared()
        if not store.schema_ready:
            create_schema(store.reader(), self.table_name)
            store.committer.connect()
            store.schema_ready = True

    def is_initialized(self) -> bool:
        row = (
            self._shared()
            .reader()
            .execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (self.table_name,)
            )
            .fetchone()
        )
        return row is not None

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
        **kwargs: Any,
    ) -> None:
        """Queue one row; with ``wait_for_commit`` return only once it is committed. The state is
        checked first, so a value that cannot be persisted raises before anything is queued."""
        committer, number = self._queue(partition_key, app_id, sequence_id, position, state, status)
        if self.wait_for_commit:
            committer.wait(number)

    def _queue(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: str,
    ) -> tuple[CommitLedger, int]:
        if status not in _STATUSES:
            _check_status(status)
        row = (
            PARTITION_KEY_DEFAULT if partition_key is None else partition_key,
            app_id,
            sequence_id,
            position,
            status,
            self.registry.state_payload(state),
        )
        committer = self._shared().committer
        return committer, committer.submit(row, self.wait_for_commit)

    def flush(self) -> None:
        """Wait until every state saved so far through this persister or its copies is durable."""
        self._shared().committer.flush()

    def load(
        self,
        partition_key: str | None,
        app_id: str | None,
        sequence_id: int | None = None,
        **kwargs: Any,
    ) -> PersistedStateData | None:
        """The latest row of ``app_id`` (or the given ``sequence_id``), whatever its status; with
        no ``app_id``, the partition's latest row. None if there is none."""
        key = PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        store = self._shared()
        table = self.table_name
        columns = _ROW_COLUMNS
        if app_id is not None and sequence_id is None:
            preloaded = store.take_preloaded(key, app_id)
            if preloaded is not _NOT_PRELOADED:
                return None if preloaded is None else self._loaded(preloaded)
        if app_id is None:
            store.committer.flush()
            sql = f"SELECT {columns} FROM {table} WHERE partition_key = ? ORDER BY id DESC LIMIT 1"
            params: tuple[Any, ...] = (key,)
        else:
            store.committer.flush((key, app_id))
            if sequence_id is None:
                sql = (
                    f"SELECT {columns} FROM {table} WHERE partition_key = ? AND app_id = ? "
                    "ORDER BY sequence_id DESC, id DESC LIMIT 1"
                )
                params = (key, app_id)
            else:
                sql = (
                    f"SELECT {columns} FROM {table} WHERE partition_key = ? AND app_id = ? "
                    "AND sequence_id = ? ORDER BY id DESC LIMIT 1"
                )
                params = (key, app_id, sequence_id)
        found = store.query(sql, params)
        return self._loaded(found[0]) if found else None

    def _loaded(self, row: tuple[Any, ...]) -> PersistedStateData:
        return {
            "partition_key": row[0],
            "app_id": row[1],
            "sequence_id": row[2],
            "position": row[3],
            "state": _make_state(self.registry.decode_state(row[4])),
            "created_at": row[5],
            "status": row[6],
        }

    def preload_children(self, partition_key: str | None, prefix: str) -> Callable[[], None] | None:
        """Read the latest row of every app whose id is ``<prefix>-…`` (the children of one map
        invocation, docs/parallelism.md) in one query, so that their loads — one per branch,
        most finding nothing on a first run — are answered from memory, each app's first load
        only. Returns what drops the rows left over, for when the map is done. With rows still
        queued (a map inside a branch, its siblings' rows in flight) nothing is preloaded (None):
        each load waits for its own app's rows instead, and nobody waits for all of them."""
        key = PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        store = self._shared()
        if not store.committer.written_all():
            return None
        columns = _ROW_COLUMNS
        sql = (
            f"SELECT {columns} FROM {self.table_name} WHERE partition_key = ? "
            "AND app_id >= ? AND app_id < ? ORDER BY app_id, sequence_id, id"
        )
        # ids from "<prefix>-" up to, not including, "<prefix>." ("." follows "-")
        rows = {row[1]: row for row in store.query(sql, (key, f"{prefix}-", f"{prefix}."))}
        with store.preloads_lock:
            store.preloads[key, prefix] = _Preload(rows)

        def release() -> None:
            with store.preloads_lock:
                store.preloads.pop((key, prefix), None)

        return release

    def list_app_ids(self, partition_key: str | None, **kwargs: Any) -> list[str]:
        """App ids saved under the partition, most recently saved first."""
        key = PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        store = self._shared()
        store.committer.flush()
        sql = (
            f"SELECT app_id FROM {self.table_name} WHERE partition_key = ? "
            "GROUP BY app_id ORDER BY MAX(id) DESC"
        )
        return [r[0] for r in store.query(sql, (key,))]

    @property
    def connection(self) -> sqlite3.Connection:
        """The calling thread's connection (Burr exposes one connection; flowc has one per
        thread). Closing it is allowed: the next use in this thread opens a new one."""
        return self._shared().reader()

    def cleanup(self) -> None:
        """Write out queued rows and close the calling thread's connection."""
        store = self._store
        if store is not None and store.pid == current_pid():
            store.committer.flush()
            store.close_reader()

    def close(self) -> None:
        """Write out queued rows and stop the committer; this persister and its copies cannot
        save afterwards. Raises if rows of copies (which do not wait) were rolled back and no
        save or flush has said so yet."""
        store = self._shared()
        store.committer.close()
        store.close_reader()
        store.committer.raise_unreported()


SQLLitePersister = SQLitePersister
"""The reference page's spelling."""


class AsyncSQLitePersister(AsyncBaseStatePersister):
    """The async twin: the same store, with waits moved off the event loop."""

    def __init__(self, db_path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> None:
        self.sync = SQLitePersister(db_path, *args, **kwargs)

    def copy(self) -> AsyncSQLitePersister:
        child = object.__new__(AsyncSQLitePersister)
        child.sync = self.sync.copy()
        return child

    async def initialize(self) -> None:
        await asyncio.to_thread(self.sync.initialize)

    async def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
        **kwargs: Any,
    ) -> None:
        sync = self.sync
        committer, number = sync._queue(partition_key, app_id, sequence_id, position, state, status)
        if sync.wait_for_commit:
            await asyncio.to_thread(committer.wait, number)

    async def load(
        self,
        partition_key: str | None,
        app_id: str | None,
        sequence_id: int | None = None,
        **kwargs: Any,
    ) -> PersistedStateData | None:
        return await asyncio.to_thread(self.sync.load, partition_key, app_id, sequence_id)

    async def list_app_ids(self, partition_key: str | None, **kwargs: Any) -> list[str]:
        return await asyncio.to_thread(self.sync.list_app_ids, partition_key)

    async def flush(self) -> None:
        await asyncio.to_thread(self.sync.flush)

    def close(self) -> None:
        self.sync.close()


# -- in memory -----------------------------------------------------------------------------------


@dataclass(eq=False)
class _MemoryRows:
    lock: threading.Lock = field(default_factory=threading.Lock)
    rows: list[tuple[str, str, int, str, str, str, str]] = field(default_factory=list)


class InMemoryPersister(BaseStatePersister):
    """Keeps rows in a list, encoded exactly as SQLite would store them (so serialization errors
    and round trips behave the same). For tests and short-lived programs; ``copy()`` shares."""

    def __init__(self, registry: SerializationRegistry | None = None) -> None:
        self.registry = registry or SerializationRegistry.default()
        self._rows = _MemoryRows()

    def copy(self) -> InMemoryPersister:
        child = object.__new__(InMemoryPersister)
        child.registry = self.registry
        child._rows = self._rows
        return child

    def initialize(self) -> None:
        return None

    def save(
        self,
        partition_key: str | None,
        app_id: str,
        sequence_id: int,
        position: str,
        state: Any,
        status: Status,
        **kwargs: Any,
    ) -> None:
        _check_status(status)
        text = self.registry.encode_state(state_values(state))
        key = PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        with self._rows.lock:
            self._rows.rows.append((key, app_id, sequence_id, position, status, text, _now_iso()))

    def load(
        self,
        partition_key: str | None,
        app_id: str | None,
        sequence_id: int | None = None,
        **kwargs: Any,
    ) -> PersistedStateData | None:
        key = PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        with self._rows.lock:
            rows = [r for r in self._rows.rows if r[0] == key]
        if app_id is not None:
            rows = [r for r in rows if r[1] == app_id]
            if sequence_id is not None:
                rows = [r for r in rows if r[2] == sequence_id]
            rows.sort(key=lambda r: r[2])  # stable: among equal sequence ids, the last saved
        if not rows:
            return None
        part, app, seq, position, status, text, created_at = rows[-1]
        return {
            "partition_key": part,
            "app_id": app,
            "sequence_id": seq,
            "position": position,
            "state": _make_state(self.registry.decode_state(text)),
            "created_at": created_at,
            "status": status,
        }

    def list_app_ids(self, partition_key: str | None, **kwargs: Any) -> list[str]:
        key = PARTITION_KEY_DEFAULT if partition_key is None else partition_key
        with self._rows.lock:
            apps = [r[1] for r in self._rows.rows if r[0] == key]
        return list(dict.fromkeys(reversed(apps)))
