"""Saving and loading application state: the loader/saver protocols and the SQLite persister.

The protocol is Burr's, duck-typed (docs/internals.md, "Runtime seams"): a loader has
``load(partition_key, app_id, sequence_id=None)`` and ``list_app_ids(partition_key)``; a saver has
``initialize()`` and ``save(partition_key, app_id, sequence_id, position, state, status)``. The
``Base*`` classes are there for code written against Burr that subclasses them.

:class:`SQLitePersister` is the embedded default. One persister and all its ``copy()``s share a
single :class:`_SQLiteStore`: one writer connection owned by a committer thread, plus one reader
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
import functools
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from flowc.errors import FlowRuntimeError
from flowc.runtime.process_id import current_pid
from flowc.runtime.serialization import (
    SerializationRegistry,
    encode_keyed,
    encode_payload,
    state_values,
)

Status = Literal["completed", "failed"]
PARTITION_KEY_DEFAULT = ""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


class PersistenceError(FlowRuntimeError):
    """The database could not be opened, written or read (F532)."""

    default_code = "F532"


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


@dataclass(frozen=True, slots=True)
class _Settings:
    """How to open a connection; all the committer thread needs (it must not hold the store)."""

    db_path: str
    table_name: str
    connect_kwargs: tuple[tuple[str, Any], ...]
    synchronous: str
    busy_timeout_s: float
    linger_s: float

    @property
    def insert_sql(self) -> str:
        return (
            f"INSERT INTO {self.table_name} "
            "(partition_key, app_id, sequence_id, position, status, state, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )


def _created_at() -> str:
    """The time of a batch as the table's default would write it (``strftime('%Y-%m-%dT%H:%M:%fZ',
    'now')``): one timestamp per commit, not one ``strftime`` per row (about a third of what
    SQLite spent inserting a small row)."""
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}Z"


MAX_RUNS_PER_STATEMENT = 400
"""Runs inserted by one statement, under SQLite's default limit of 500 arms in a compound
SELECT; a batch of more runs takes several statements in one transaction."""


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive queued rows that differ only in app id and state (a map's children): inserted
    as one JSON object of states by app id, which SQLite's ``json_each`` takes apart."""

    partition_key: str
    sequence_id: int
    position: str
    status: str
    states: str  # {"<app id>": <state>, ...}, in queue order


def _runs(batch: list[tuple[Any, ...]]) -> list[_Run]:
    """Split ``batch`` into runs, in queue order. A run holds one kind of payload (dicts are
    encoded together in one call, texts are joined) and each app id once."""
    runs: list[_Run] = []
    rows: list[tuple[Any, ...]] = []
    apps: set[str] = set()
    kind: tuple[Any, ...] = ()
    for row in batch:
        row_kind = (row[0], row[2], row[3], row[4], type(row[5]) is str)
        if row_kind != kind or row[1] in apps:
            if rows:
                runs.append(_run(rows))
            rows, apps, kind = [], set(), row_kind
        rows.append(row)
        apps.add(row[1])
    if rows:
        runs.append(_run(rows))
    return runs


def _run(rows: list[tuple[Any, ...]]) -> _Run:
    first = rows[0]
    if type(first[5]) is str:
        states = "{" + ",".join(encode_basestring(r[1]) + ":" + r[5] for r in rows) + "}"
    else:
        states = encode_keyed({r[1]: r[5] for r in rows})
    return _Run(first[0], first[2], first[3], first[4], states)


@functools.lru_cache(maxsize=64)
def _insert_runs_sql(table: str, runs: int) -> str:
    """One INSERT of ``runs`` runs: ``?1`` is the batch's time, then five parameters a run."""
    arms = " UNION ALL ".join(
        f"SELECT ?{i}, key, ?{i + 1}, ?{i + 2}, ?{i + 3}, value, ?1 FROM json_each(?{i + 4})"
        for i in range(2, 2 + 5 * runs, 5)
    )
    return (
        f"INSERT INTO {table} "
        "(partition_key, app_id, sequence_id, position, status, state, created_at) " + arms
    )


def _write_batch(connection: sqlite3.Connection, settings: _Settings, batch: list[Any]) -> None:
    """Insert ``batch`` in one transaction, in queue order: all of it or none.

    The usual batch is one statement in autocommit: SQLite inserts every row while this thread
    waits without the GIL, where ``executemany`` takes the GIL back for every row — which, while
    other threads run branches, means waiting for a switch interval each time. A batch SQLite's
    JSON reader refuses (NaN or ±Infinity in a state) is inserted row by row instead."""
    created_at = _created_at()
    runs = _runs(batch)
    try:
        if len(runs) <= MAX_RUNS_PER_STATEMENT:
            _insert_runs(connection, settings.table_name, runs, created_at)
        else:
            _in_transaction(
                connection, lambda: _insert_chunks(connection, settings, runs, created_at)
            )
    except sqlite3.OperationalError as error:
        if "JSON" not in str(error):
            raise
        rows = [(*row[:5], encode_payload(row[5]), created_at) for row in batch]
        _in_transaction(connection, lambda: connection.executemany(settings.insert_sql, rows))


def _insert_runs(
    connection: sqlite3.Connection, table: str, runs: list[_Run], created_at: str
) -> None:
    params: list[Any] = [created_at]
    for run in runs:
        params += (run.partition_key, run.sequence_id, run.position, run.status, run.states)
    connection.execute(_insert_runs_sql(table, len(runs)), params)


def _insert_chunks(
    connection: sqlite3.Connection, settings: _Settings, runs: list[_Run], created_at: str
) -> None:
    for start in range(0, len(runs), MAX_RUNS_PER_STATEMENT):
        chunk = runs[start : start + MAX_RUNS_PER_STATEMENT]
        _insert_runs(connection, settings.table_name, chunk, created_at)


def _in_transaction(connection: sqlite3.Connection, write: Callable[[], Any]) -> None:
    connection.execute("BEGIN IMMEDIATE")  # if this fails, no transaction is open to roll back
    try:
        write()
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _open_connection(settings: _Settings) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout, the table created if missing."""
    kwargs = {"timeout": settings.busy_timeout_s, **dict(settings.connect_kwargs)}
    kwargs["isolation_level"] = None  # explicit BEGIN/COMMIT: one transaction per batch
    kwargs["check_same_thread"] = False  # each connection stays in one thread anyway
    try:
        connection = sqlite3.connect(settings.db_path, **kwargs)
        connection.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_s * 1000)}")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={settings.synchronous}")
        _create_schema(connection, settings.table_name)
    except sqlite3.Error as exc:
        raise PersistenceError(
            f"cannot open the state database {settings.db_path!r}: {exc}",
            hints=("check that the directory exists and is writable",),
        ) from exc
    return connection


def _writer_connection(settings: _Settings) -> sqlite3.Connection:
    """A connection for the committer, with the inserts of batches of up to four runs already
    prepared: preparing one releases and retakes the GIL, like running it."""
    connection = _open_connection(settings)
    for runs in range(1, 5):
        _insert_runs(connection, settings.table_name, [_Run("", 0, "", "", "{}")] * runs, "")
    return connection


def _create_schema(connection: sqlite3.Connection, table: str) -> None:
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS {table} ("
        "id INTEGER PRIMARY KEY,"
        f" partition_key TEXT NOT NULL DEFAULT '{PARTITION_KEY_DEFAULT}',"
        " app_id TEXT NOT NULL,"
        " sequence_id INTEGER NOT NULL,"
        " position TEXT NOT NULL,"
        " status TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    )
    connection.execute(
        f"CREATE INDEX IF NOT EXISTS {table}_app_seq "
        f"ON {table} (partition_key, app_id, sequence_id)"
    )


@dataclass(slots=True)
class _FailedBatch:
    """Rows ``first``..``last`` (queue numbers) were rolled back with ``error``. ``reported``
    once some saver has raised it; each saver of those rows still raises it in its own wait
    (``waiting``: how many have yet to). ``unwaited``: some of its rows were queued by savers
    that do not wait (copies), so nobody is told of their loss unless a later waiting save or a
    flush raises it. Forgotten once reported and heard by all its waiting savers."""

    first: int
    last: int
    error: BaseException
    unwaited: bool
    waiting: int
    reported: bool = False


@dataclass(eq=False)
class _GroupCommitter:
    """Writes queued rows in batches from one thread and one connection, in queue order.

    A batch is everything queued while the previous batch was being committed (plus what
    arrives within a short linger of its first row), so the number of commits — and fsyncs —
    grows with elapsed time, not with the number of rows. The thread needs the GIL as seldom as
    it can: while branches run, each time it wants it back it may wait a whole switch interval
    (5 ms). So a batch is one statement (``_write_batch``), the connection is opened before the
    run when the persister is initialized, and a batch whose first row waited that long already
    does not linger. Rows are numbered as they are queued; ``finished`` is the
    number of the last row whose batch is over, so waiting for a row is waiting for ``finished``
    to reach its number (no object per row). Queueing takes a plain lock for a list append, a
    counter and a dict entry; sleeping and waking use a separate condition, touched once per
    batch and only when someone sleeps on it.
    """

    settings: _Settings
    lock: threading.Lock = field(default_factory=threading.Lock)  # queue, counters, last_by_app
    cond: threading.Condition = field(default_factory=threading.Condition)  # sleep/wake
    queue: list[tuple[Any, ...]] = field(default_factory=list)
    first_queued_at: float = 0.0  # when the queue's first row came (time.monotonic)
    queued: int = 0  # rows ever queued: the number of the last one
    finished: int = 0  # rows whose batch is over (committed, or failed and rolled back)
    last_by_app: dict[tuple[str, str], int] = field(default_factory=dict)  # app -> last row no.
    waited: set[int] = field(default_factory=set)  # unfinished rows whose savers wait for them
    failures: list[_FailedBatch] = field(default_factory=list)
    thread: threading.Thread | None = None
    connection: sqlite3.Connection | None = None  # the writer's, until the thread takes it
    idle: bool = False
    waiters: int = 0
    closing: bool = False
    ended: bool = False  # the thread has left its loop (``is_alive`` is False before it runs, too)
    commits: int = 0
    pid: int = field(default_factory=current_pid)

    def submit(self, row: tuple[Any, ...], waits: bool = False) -> int:
        """Queue ``row`` (partition key and app id first); its number, for :meth:`wait`, which
        the saver must call if ``waits``."""
        with self.lock:
            if self.closing:
                raise PersistenceError("the persister is closed; no more states can be saved")
            if not self.queue:
                self.first_queued_at = time.monotonic()
            self.queue.append(row)
            self.queued = number = self.queued + 1
            if waits:
                self.waited.add(number)
            self.last_by_app[row[0], row[1]] = number
            wake, self.idle = self.idle, False  # only the first row after a sleep wakes it
            start = self.thread is None
            if start:
                self.thread = threading.Thread(
                    target=self._run, name="flowc-sqlite-committer", daemon=True
                )
        if start:
            self.thread.start()  # type: ignore[union-attr]
        elif wake:
            with self.cond:
                self.cond.notify_all()
        return number

    def wait(self, number: int) -> None:
        """Return once row ``number``'s batch is committed; raise if it, or a batch of rows whose
        savers did not wait, failed."""
        self._await(number)
        self._raise_failures(number)

    def flush(self, app: tuple[str, str] | None = None) -> None:
        """Wait until every row queued so far (given ``app``: that app's rows) is committed;
        without ``app``, raise the first failure no saver was told about."""
        if app is not None:
            number = self.last_by_app.get(app)
            if number is not None:
                self._await(number)
            return
        self._await(self.queued)
        self.raise_unreported()

    def written_all(self) -> bool:
        """Whether every row queued so far is written (or failed): nothing is in flight."""
        return self.finished >= self.queued

    def raise_unreported(self) -> None:
        """Raise the first failed batch no saver has raised yet (rows of copies, which do not
        wait for their commit), once."""
        self._raise_failures(None)

    def _raise_failures(self, number: int | None) -> None:
        """Raise the failure of row ``number``'s own batch, else the first unreported failure
        of an earlier batch holding rows nobody waits for: a save that waits returns only once
        every earlier row is durable, so an earlier loss must not pass for success. A batch
        whose every saver waits is left to them: each hears of its own batch only."""
        with self.lock:
            failure = None
            if number is not None:
                failure = next((f for f in self.failures if f.first <= number <= f.last), None)
                if failure is not None:
                    failure.waiting -= 1
            if failure is None:
                failure = next(
                    (
                        f
                        for f in self.failures
                        if f.unwaited and not f.reported and (number is None or f.last < number)
                    ),
                    None,
                )
            if failure is None:
                return
            failure.reported = True
            if failure.waiting <= 0:
                self.failures.remove(failure)
        raise _as_persistence_error(failure.error)

    def _await(self, number: int) -> None:
        """Block until row ``number``'s batch is over; a waiter ends the committer's linger."""
        if self.finished >= number:
            return
        with self.cond:
            self.waiters += 1
            self.cond.notify_all()
            try:
                while self.finished < number:
                    if self.ended:  # nobody will write them
                        raise PersistenceError("the committer thread stopped; rows were lost")
                    self.cond.wait(0.5)
            finally:
                self.waiters -= 1

    def close(self) -> None:
        """Commit what is queued, then stop the thread (also run at interpreter exit)."""
        if self.pid != current_pid():  # a forked child: the thread and its locks stayed behind
            return
        with self.lock:
            self.closing = True
            thread = self.thread
        with self.cond:
            self.cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _next_batch(self) -> list[tuple[Any, ...]] | None:
        """Sleep until rows are queued, linger while nobody waits, and take them all; None
        once closing with nothing left."""
        with self.cond:
            while True:
                with self.lock:
                    if self.queue or self.closing:
                        self.idle = False
                        break
                    self.idle = True  # from here on, the next submit() wakes us
                self.cond.wait(0.5)
            deadline = self.first_queued_at + self.settings.linger_s
            while not self.waiters and not self.closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
        with self.lock:
            batch, self.queue = self.queue, []
            if not batch and self.closing:
                return None
            if len(self.last_by_app) > 10_000:  # forget apps whose rows are all written
                done = self.finished
                self.last_by_app = {k: n for k, n in self.last_by_app.items() if n > done}
        return batch

    def _run(self) -> None:
        try:
            self._commit_batches()
        finally:
            self.ended = True
            with self.cond:
                self.cond.notify_all()

    def connect(self) -> None:
        """Open the writer connection now, before the thread starts: in the thread, during a
        run, each statement that opens it would wait for the GIL."""
        with self.lock:
            if self.connection is None and self.thread is None and not self.closing:
                self.connection = _writer_connection(self.settings)

    def _commit_batches(self) -> None:
        with self.lock:
            connection, self.connection = self.connection, None
        while (batch := self._next_batch()) is not None:
            error: BaseException | None = None
            try:
                if connection is None:
                    connection = _writer_connection(self.settings)
                _write_batch(connection, self.settings, batch)
            except Exception as exc:
                error = exc
            self.commits += 1
            with self.lock:
                first = self.finished + 1
                self.finished = last = self.finished + len(batch)
                waited = self.waited
                if error is not None:
                    waited_here = sum(1 for n in waited if n <= last)
                    unwaited = waited_here < len(batch)
                    self.failures.append(_FailedBatch(first, last, error, unwaited, waited_here))
                if waited:
                    self.waited = {n for n in waited if n > last}
            if self.waiters:
                with self.cond:
                    self.cond.notify_all()
        if connection is not None:
            connection.close()


def _as_persistence_error(error: BaseException) -> BaseException:
    if isinstance(error, FlowRuntimeError):
        return error
    wrapped = PersistenceError(
        f"saving state failed: {type(error).__name__}: {error}",
        hints=("the rows of this batch were rolled back; earlier saves are intact",),
    )
    wrapped.__cause__ = error
    return wrapped


@dataclass(slots=True)
class _Preload:
    """The latest saved row of each app of one id prefix (a map invocation's children), read in
    one query; each app's first load is answered from it, later ones from the database."""

    rows: dict[str, tuple[Any, ...]]
    served: set[str] = field(default_factory=set)


_NOT_PRELOADED = object()
_ROW_COLUMNS = "partition_key, app_id, sequence_id, position, state, created_at, status"
"""What ``load`` reads of a row, in the order ``SQLitePersister._loaded`` takes them."""


class _SQLiteStore:
    """Everything a persister and its copies share: per-thread reader connections and the
    committer. Recreated after a fork or an unpickle, so connections never cross processes."""

    def __init__(self, settings: _Settings) -> None:
        self.settings = settings
        self.pid = current_pid()
        self.local = threading.local()
        self.schema_ready = False
        self.committer = _GroupCommitter(settings)
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
        connection = _open_connection(self.settings)
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
    ) -> None:
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
        self._store: _SQLiteStore | None = None
        self._child: SQLitePersister | None = None

    # -- sharing --------------------------------------------------------------------------------

    def _shared(self) -> _SQLiteStore:
        store = self._store
        if store is None or store.pid != current_pid():
            store = _SQLiteStore(
                _Settings(
                    self.db_path,
                    self.table_name,
                    tuple(sorted(self.connect_kwargs.items())),
                    self.synchronous,
                    self.busy_timeout_s,
                    self.linger_s,
                )
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
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
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
            _create_schema(store.reader(), self.table_name)
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
    ) -> tuple[_GroupCommitter, int]:
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
