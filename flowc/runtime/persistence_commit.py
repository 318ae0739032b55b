"""Group commit: rows from many threads numbered, batched and written in queue order, one
transaction per batch, each saver told whether its own row (and every row before it) is durable.

:class:`CommitLedger` is that ledger; :class:`GroupCommitter` writes its batches from a thread
of this process, ``persistence_writer.WriterProcess`` hands them to a writer process. The SQLite
functions here (open a connection, create the table, write a batch) are what both run.
"""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from flowc.errors import FlowRuntimeError
from flowc.runtime.process_id import current_pid
from flowc.runtime.serialization import encode_keyed, encode_payload

PARTITION_KEY_DEFAULT = ""


class PersistenceError(FlowRuntimeError):
    """The database could not be opened, written or read (F532)."""

    default_code = "F532"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """How to open a connection; all the committer thread needs (it must not hold the store)."""

    db_path: str
    table_name: str
    connect_kwargs: tuple[tuple[str, Any], ...]
    synchronous: str
    busy_timeout_s: float
    linger_s: float

    def as_tuple(self) -> tuple[Any, ...]:
        """The fields in order, as the writer process is sent them."""
        return (
            self.db_path,
            self.table_name,
            self.connect_kwargs,
            self.synchronous,
            self.busy_timeout_s,
            self.linger_s,
        )

    @property
    def insert_sql(self) -> str:
        return (
            f"INSERT INTO {self.table_name} "
            "(partition_key, app_id, sequence_id, position, status, state, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)"
        )


def created_at_now() -> str:
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
                runs.append(_make_run(rows))
            rows, apps, kind = [], set(), row_kind
        rows.append(row)
        apps.add(row[1])
    if rows:
        runs.append(_make_run(rows))
    return runs


def _make_run(rows: list[tuple[Any, ...]]) -> _Run:
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


def write_batch(connection: sqlite3.Connection, settings: StoreSettings, batch: list[Any]) -> None:
    """Insert ``batch`` in one transaction, in queue order: all of it or none.

    The usual batch is one statement in autocommit: SQLite inserts every row while this thread
    waits without the GIL, where ``executemany`` takes the GIL back for every row — which, while
    other threads run branches, means waiting for a switch interval each time. A batch SQLite's
    JSON reader refuses (NaN or ±Infinity in a state) is inserted row by row instead."""
    created_at = created_at_now()
    runs = _runs(batch)
    try:
        if len(runs) <= MAX_RUNS_PER_STATEMENT:
            _insert_runs(connection, settings.table_name, runs, created_at)
        else:
            _in_transaction(
                connection, lambda: _insert_chunks(connection, settings, runs, created_at)
            )
    except sqlite3.OperationalError as error:
        if "JSON" not in str(error):  # SQLite says "malformed JSON"; any other error is real
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
    connection: sqlite3.Connection, settings: StoreSettings, runs: list[_Run], created_at: str
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


def open_connection(settings: StoreSettings) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout, the table created if missing."""
    kwargs = {"timeout": settings.busy_timeout_s, **dict(settings.connect_kwargs)}
    kwargs["isolation_level"] = None  # explicit BEGIN/COMMIT: one transaction per batch
    kwargs["check_same_thread"] = False  # each connection stays in one thread anyway
    try:
        connection = sqlite3.connect(settings.db_path, **kwargs)
        connection.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_s * 1000)}")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={settings.synchronous}")
        create_schema(connection, settings.table_name)
    except sqlite3.Error as exc:
        raise PersistenceError(
            f"cannot open the state database {settings.db_path!r}: {exc}",
            hints=("check that the directory exists and is writable",),
        ) from exc
    return connection


def writer_connection(settings: StoreSettings) -> sqlite3.Connection:
    """A connection for the committer, with the inserts of batches of up to four runs already
    prepared: preparing one releases and retakes the GIL, like running it."""
    connection = open_connection(settings)
    for runs in range(1, 5):
        _insert_runs(connection, settings.table_name, [_Run("", 0, "", "", "{}")] * runs, "")
    return connection


def create_schema(connection: sqlite3.Connection, table: str) -> None:
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
class FailedBatch:
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
class CommitLedger:
    """What both writers keep: the rows queued and not yet handed to the writer, their numbers,
    who waits for which, and the batches that failed.

    Rows are numbered as they are queued; ``finished`` is the number of the last row whose batch
    is over, so waiting for a row is waiting for ``finished`` to reach its number (no object per
    row). Queueing takes a plain lock for a list append, a counter and a dict entry; sleeping and
    waking use a separate condition, touched once per batch and only when someone sleeps on it.
    ``thread`` is the writer's thread here; while it sleeps for want of rows (``idle``), the
    first row queued wakes it.
    """

    settings: StoreSettings
    lock: threading.Lock = field(default_factory=threading.Lock)  # queue, counters, last_by_app
    cond: threading.Condition = field(default_factory=threading.Condition)  # sleep/wake
    queue: list[tuple[Any, ...]] = field(default_factory=list)
    first_queued_at: float = 0.0  # when the queue's first row came (time.monotonic)
    queued: int = 0  # rows ever queued: the number of the last one
    finished: int = 0  # rows whose batch is over (committed, or failed and rolled back)
    last_by_app: dict[tuple[str, str], int] = field(default_factory=dict)  # app -> last row no.
    waited: set[int] = field(default_factory=set)  # unfinished rows whose savers wait for them
    failures: list[FailedBatch] = field(default_factory=list)
    thread: threading.Thread | None = None
    idle: bool = False
    waiters: int = 0
    closing: bool = False
    ended: bool = False  # the thread has left its loop (``is_alive`` is False before it runs, too)
    commits: int = 0
    pid: int = field(default_factory=current_pid)

    def _enqueue(self, row: tuple[Any, ...], waits: bool) -> tuple[int, bool]:
        """Queue ``row`` (partition key and app id first), the caller holding ``lock``: its
        number, and whether it must wake the sleeping thread (only the first row after a sleep
        does)."""
        if self.closing:
            raise PersistenceError("the persister is closed; no more states can be saved")
        if not self.queue:
            self.first_queued_at = time.monotonic()
        self.queue.append(row)
        self.queued = number = self.queued + 1
        if waits:
            self.waited.add(number)
        self.last_by_app[row[0], row[1]] = number
        wake, self.idle = self.idle, False
        return number, wake

    def _sleep_until_queued(self) -> None:
        """Sleep (the caller holding ``cond``) until rows are queued or the writer closes."""
        while True:
            with self.lock:
                if self.queue or self.closing:
                    self.idle = False
                    return
                self.idle = True  # from here on, the next row queued wakes us
            self.cond.wait(0.5)

    def submit(self, row: tuple[Any, ...], waits: bool = False) -> int:
        """Queue ``row`` for the writer; its number, for :meth:`wait`, which the saver must
        call if ``waits``."""
        raise NotImplementedError

    def close(self) -> None:
        """Write what is queued and stop the writer (also run at interpreter exit)."""
        raise NotImplementedError

    def connect(self) -> None:
        """Get the writer ready before the first row (``initialize``); nothing by default."""

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
        raise as_persistence_error(failure.error)

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
                        raise self.stopped_error()
                    self.cond.wait(0.5)
            finally:
                self.waiters -= 1

    def stopped_error(self) -> PersistenceError:
        return PersistenceError("the committer thread stopped; rows were lost")

    def forget_written_apps(self) -> None:
        """Keep ``last_by_app`` small: once it is large, drop the apps whose rows are all
        written (the caller holds ``lock``)."""
        if len(self.last_by_app) > 10_000:
            done = self.finished
            self.last_by_app = {k: n for k, n in self.last_by_app.items() if n > done}

    def finish_batch(self, size: int, error: BaseException | None) -> None:
        """The next ``size`` rows in queue order are written (or, with ``error``, rolled back):
        record it and wake the savers waiting for them."""
        self.commits += 1
        with self.lock:
            first = self.finished + 1
            self.finished = last = self.finished + size
            waited = self.waited
            if error is not None:
                waited_here = sum(1 for n in waited if n <= last)
                unwaited = waited_here < size
                self.failures.append(FailedBatch(first, last, error, unwaited, waited_here))
            if waited:
                self.waited = {n for n in waited if n > last}
        if self.waiters:
            with self.cond:
                self.cond.notify_all()


@dataclass(eq=False)
class GroupCommitter(CommitLedger):
    """Writes queued rows in batches from one thread and one connection, in queue order.

    A batch is everything queued while the previous batch was being committed (plus what
    arrives within a short linger of its first row), so the number of commits — and fsyncs —
    grows with elapsed time, not with the number of rows.

    The thread needs the GIL as seldom as it can: while branches run, each time it wants it back
    it may wait a whole switch interval (5 ms). So a batch is one statement (``write_batch``),
    the connection is opened before the run when the persister is initialized, and a batch whose
    first row waited longer than the linger already does not linger.
    """

    connection: sqlite3.Connection | None = None  # the writer's, until the thread takes it

    def submit(self, row: tuple[Any, ...], waits: bool = False) -> int:
        with self.lock:
            number, wake = self._enqueue(row, waits)
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

    def close(self) -> None:
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
            self._sleep_until_queued()
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
            self.forget_written_apps()
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
                self.connection = writer_connection(self.settings)

    def _commit_batches(self) -> None:
        with self.lock:
            connection, self.connection = self.connection, None
        while (batch := self._next_batch()) is not None:
            error: BaseException | None = None
            try:
                if connection is None:
                    connection = writer_connection(self.settings)
                write_batch(connection, self.settings, batch)
            except Exception as exc:
                error = exc
            self.finish_batch(len(batch), error)
        if connection is not None:
            connection.close()


def as_persistence_error(error: BaseException) -> FlowRuntimeError:
    if isinstance(error, FlowRuntimeError):
        return error
    wrapped = PersistenceError(
        f"saving state failed: {type(error).__name__}: {error}",
        hints=("the rows of this batch were rolled back; earlier saves are intact",),
    )
    wrapped.__cause__ = error
    return wrapped
