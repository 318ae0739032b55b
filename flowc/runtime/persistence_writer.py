"""The writer process: group commit in another Python process, off this process's GIL.

A committer thread can only encode and insert while the threads running branches let go of the
GIL, so on a fan-out of short branches its work adds to theirs (bench/RESULTS.md, "Persistence").
:class:`WriterProcess` keeps the committer's ledger (rows numbered as queued, savers waiting for
their number) but hands the rows to ``python -m flowc.runtime.persistence_writer``, started with
pipes (never a fork of a threaded process). A saving thread only appends its row to a list; the
list goes down the pipe as one ``marshal`` frame when a saver waits, when it holds
``FRAME_ROWS`` rows, or when its first row has waited ``linger_s`` (a thread here sends it
then). The writer JSON-encodes the states sent as values, inserts every frame that has arrived as
one batch (``persistence_commit.write_batch``) and answers with the number of rows that batch
held and its error, if any. No thread waits for the answers — one that woke for each would take
the GIL from the threads running branches every time: they are read after each send, and by
whoever waits for a row.

Crash rules: when this process dies, the writer reads end-of-file, commits every whole frame it
received and exits; a frame cut short was never acknowledged to anyone. When the writer dies, its
answers end: waiting and later saves raise :class:`PersistenceError` instead of hanging.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowc.runtime.persistence_commit import (
    CommitLedger,
    PersistenceError,
    StoreSettings,
    as_persistence_error,
    write_batch,
    writer_connection,
)
from flowc.runtime.process_id import current_pid

FRAME_ROWS = 256
"""Rows gathered before they are sent while the writer is busy. Each send is a system call that
lets go of the GIL, which other threads running branches then take: fewer, larger frames cost
the branches less (64 measured worse than 256)."""

LINGER_POLL_S = 0.05
"""How often the lingering thread looks for rows left pending while saves come in."""

_HEADER = 4  # bytes of a frame's length, little-endian
_PIPE_BYTES = 1 << 20  # Linux lets an unprivileged process grow a pipe to 1 MiB
_UNSENDABLE = "unsendable"  # a frame whose rows marshal refused: answered as failed, unwritten


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(_HEADER, "little") + payload


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _grow_pipe(fd: int) -> None:
    """Let a whole fan-out's rows sit in the pipe while the writer commits (Linux only)."""
    import fcntl  # POSIX, like the rest of this module (start() refuses other systems)

    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, set_size, _PIPE_BYTES)


def _read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or None if it ends first."""
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


# -- this process's side -------------------------------------------------------------------------


@dataclass(eq=False)
class WriterProcess(CommitLedger):
    """A :class:`CommitLedger` whose batches are written by a child process (module
    docstring). Its ``queue`` holds the rows not yet sent and ``thread`` is the lingering
    thread; ``answers`` is what the writer has said but nobody has read yet (no thread reads it:
    a thread that woke for every answer would take the GIL from the threads running branches
    each time)."""

    process: subprocess.Popen[bytes] | None = None
    sent: int = 0  # rows handed to the writer: the number of the last one
    answers: bytearray = field(default_factory=bytearray)
    reading: threading.Lock = field(default_factory=threading.Lock)  # one reader of answers

    @classmethod
    def start(cls, settings: StoreSettings) -> WriterProcess:
        """Start the writer and wait until it has opened the database. OSError if no process
        can be started (or it cannot import flowc), ValueError if the settings cannot be sent
        to one (a ``factory`` class in ``connect_kwargs``, say)."""
        first = _frame(marshal.dumps(settings.as_tuple()))
        if os.name != "posix":  # the writer selects on a pipe, which Windows cannot
            raise OSError("the writer process needs a POSIX system")
        if not sys.executable:
            raise OSError("no Python interpreter to start the writer with")
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, path]))}
        process = subprocess.Popen(
            [sys.executable, "-m", "flowc.runtime.persistence_writer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env=env,
        )
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None and stdout is not None
        _grow_pipe(stdin.fileno())
        try:
            _write_all(stdin.fileno(), first)
            ready = _read_exactly(stdout.fileno(), _HEADER + len(marshal.dumps((0, None))))
        except OSError:
            ready = None
        if not ready:  # it could not start or import flowc: there is no writer process here
            stdin.close()
            process.wait()
            stdout.close()
            raise OSError(f"the writer process exited with status {process.returncode}")
        os.set_blocking(stdout.fileno(), False)  # answers are read as they come, never waited on
        writer = cls(settings, process=process)
        writer.thread = threading.Thread(
            target=writer._send_lingering, name="flowc-sqlite-writer", daemon=True
        )
        writer.thread.start()
        return writer

    def submit(self, row: tuple[Any, ...], waits: bool = False) -> int:
        """Queue ``row``; send the queue if it waits, makes a frame, or has waited ``linger_s``
        since its first row."""
        with self.lock:
            if self.ended:
                raise self.stopped_error()
            number, wake = self._enqueue(row, waits)
            send = (
                waits
                or len(self.queue) >= FRAME_ROWS
                or time.monotonic() - self.first_queued_at >= self.settings.linger_s
            )
            if send:
                self._send(waits)
        if send:
            self._take_arrived_answers()
        elif wake:
            with self.cond:
                self.cond.notify()
        return number

    def _send_lingering(self) -> None:
        """The thread that sends rows still queued when saves stop coming (a save sends them
        once they are ``linger_s`` old, but only the next save does). It looks every
        ``LINGER_POLL_S`` while rows come in and sleeps when none are queued: the first row
        after that wakes it, not every frame, because each wake takes the GIL from the threads
        running branches."""
        while True:
            with self.cond:
                self._sleep_until_queued()
            if self.closing or self.ended:
                return
            time.sleep(max(self.settings.linger_s, LINGER_POLL_S))
            with self.lock:
                stale = time.monotonic() - self.first_queued_at >= self.settings.linger_s
                if self.queue and stale and not self.ended and not self.closing:
                    with contextlib.suppress(PersistenceError):  # a saver hears of it
                        self._send(False)
            self._take_arrived_answers()

    def _send(self, urgent: bool) -> None:
        """Hand the queued rows to the writer, in order (the caller holds ``lock``).
        ``urgent``: someone waits for them, so the writer commits without lingering."""
        rows, self.queue = self.queue, []
        self.sent = self.queued
        self.forget_written_apps()
        try:
            payload = marshal.dumps((urgent, rows))
        except ValueError as exc:  # a value marshal cannot send: these rows fail, in order
            payload = marshal.dumps((urgent, (_UNSENDABLE, len(rows), str(exc))))
        assert self.process is not None and self.process.stdin is not None
        try:
            _write_all(self.process.stdin.fileno(), _frame(payload))
        except (OSError, ValueError) as exc:  # the writer is gone (EPIPE) or the pipe is closed
            self.ended = True
            raise self.stopped_error() from exc

    def _take_arrived_answers(self) -> None:
        """Apply what the writer has answered so far, unless another thread is reading: so
        that its answers never fill their pipe while nobody waits."""
        if self.reading.acquire(blocking=False):
            try:
                self._take_answers()
            finally:
                self.reading.release()

    def _take_answers(self, block: bool = False) -> None:
        """Apply the writer's answers that have arrived (``block``: wait for at least one), in
        order. The caller holds ``reading``, not ``lock``."""
        assert self.process is not None and self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while True:
            if block:
                select.select([fd], [], [])
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return
            if not chunk:  # the writer is gone: nobody will answer for the rows in flight
                self.ended = True
                return
            self.answers += chunk
            for size, error in _answers(self.answers):
                self.finish_batch(size, None if error is None else _error_from(error))
            block = False

    def _await(self, number: int) -> None:
        """Send row ``number`` if it is still pending, then read answers until its batch is
        over; one thread reads at a time, the others find their rows done when it is theirs."""
        if self.sent < number:
            with self.lock:
                if self.sent < number and not self.ended:
                    self._send(True)
        while self.finished < number:
            with self.reading:
                if self.finished >= number:
                    return
                if self.ended:
                    raise self.stopped_error()
                self._take_answers(block=True)

    def stopped_error(self) -> PersistenceError:
        return PersistenceError(
            "the SQLite writer process stopped; states saved since its last commit were lost",
            hints=(
                "a resumed run redoes only what was not durably saved",
                "SQLitePersister(..., writer='thread') writes from a thread of this process",
            ),
        )

    def close(self) -> None:
        """Send what is pending, let the writer commit it and exit, take its last answers and
        wait for it (also at interpreter exit)."""
        if self.pid != current_pid() or self.process is None:
            return
        with self.lock:
            if not self.closing:
                self.closing = True
                if self.queue and not self.ended:
                    with contextlib.suppress(PersistenceError):
                        self._send(True)
        with self.cond:
            self.cond.notify_all()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join()
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            # The stop frame, not just the end of the pipe: a process forked from this one
            # holds the pipe open as long as it lives.
            with contextlib.suppress(OSError):
                _write_all(stdin.fileno(), _frame(b""))
                stdin.close()
        with self.reading:
            while not self.ended:
                self._take_answers(block=True)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _answers(buffer: bytearray) -> list[tuple[int, Any]]:
    """Take the whole answer frames off the front of ``buffer``: (rows, error) each."""
    taken, start = [], 0
    while len(buffer) - start >= _HEADER:
        end = start + _HEADER + int.from_bytes(buffer[start : start + _HEADER], "little")
        if end > len(buffer):
            break
        taken.append(marshal.loads(bytes(buffer[start + _HEADER : end])))
        start = end
    del buffer[:start]
    return [(size, error) for size, error in taken if size]


def _error_message(exc: Exception) -> tuple[Any, ...]:
    """A failed batch's error as the writer sends it: the error this process would raise, and
    the SQLite error behind it (class name and text), which it keeps as ``__cause__``."""
    error = as_persistence_error(exc)
    cause = error.__cause__ or exc
    return (error.message, error.hints, type(cause).__name__, str(cause))


def _error_from(message: tuple[Any, ...]) -> PersistenceError:
    text, hints, cause_name, cause_text = message
    error = PersistenceError(text, hints=hints)
    cause_type = getattr(sqlite3, cause_name, None)
    if isinstance(cause_type, type) and issubclass(cause_type, sqlite3.Error):
        error.__cause__ = cause_type(cause_text)
    return error


# -- the writer process --------------------------------------------------------------------------


@dataclass(slots=True)
class _Inbox:
    """Frames read from a pipe: whole ones are taken, a partial one waits for the rest."""

    fd: int
    buffer: bytearray = field(default_factory=bytearray)
    eof: bool = False  # the pipe is closed, or the saving process sent the stop frame

    def next_batches(self, linger_s: float) -> list[tuple[bool, Any]] | None:
        """The (urgent, rows) of every whole frame that has arrived (waiting for one, then
        lingering ``linger_s`` for more unless one is urgent); None once the pipe is done."""
        frames = self.take()
        while not frames and not self.eof:
            self.read(None)
            frames = self.take()
        if not frames:
            return None
        batches = [marshal.loads(frame) for frame in frames]
        if not self.eof and not any(urgent for urgent, _ in batches) and self.read(linger_s):
            batches += [marshal.loads(frame) for frame in self.take()]
        return batches

    def read(self, timeout: float | None) -> bool:
        """Read what the pipe holds, waiting up to ``timeout`` (None: forever) for something;
        False if nothing came."""
        if self.eof:
            return False
        if timeout is not None and not select.select([self.fd], [], [], max(timeout, 0))[0]:
            return False
        chunk = os.read(self.fd, _PIPE_BYTES)
        if not chunk:
            self.eof = True
        self.buffer += chunk
        return True

    def take(self) -> list[bytes]:
        """The whole frames read so far, up to the stop frame (empty), which ends the pipe."""
        frames, buffer, start = [], self.buffer, 0
        while not self.eof and len(buffer) - start >= _HEADER:
            end = start + _HEADER + int.from_bytes(buffer[start : start + _HEADER], "little")
            if end > len(buffer):
                break
            if end == start + _HEADER:
                self.eof = True
            else:
                frames.append(bytes(buffer[start + _HEADER : end]))
            start = end
        del buffer[:start]
        return frames


def serve(inbox: _Inbox, answers: int) -> None:
    """Commit every batch that arrives and answer each: all the whole frames read so far in one
    transaction (lingering ``linger_s`` for more unless a saver waits); a frame of rows that
    could not be sent is answered as failed, in its place."""
    settings = _read_settings(inbox)
    if settings is None:
        return
    connection: sqlite3.Connection | None = None
    with contextlib.suppress(PersistenceError):  # if it fails, each batch tries again
        connection = writer_connection(settings)
    # Ready: flowc imported, and the file set up before the saving process opens it too (two
    # connections turning a new file to WAL at once can fail with "disk I/O error").
    _write_all(answers, _frame(marshal.dumps((0, None))))
    while (batches := inbox.next_batches(settings.linger_s)) is not None:
        for rows, unsendable in _split_unsendable(batches):
            if unsendable is not None:
                count, reason = unsendable
                error = PersistenceError(f"these states could not be sent to the writer: {reason}")
                _answer(answers, (count, _error_message(error)))
                continue
            answer: tuple[Any, ...] = (len(rows), None)
            try:
                if connection is None:
                    connection = writer_connection(settings)
                write_batch(connection, settings, rows)
            except Exception as exc:
                answer = (len(rows), _error_message(exc))
            _answer(answers, answer)
    if connection is not None:
        connection.close()


def _split_unsendable(
    batches: list[tuple[bool, Any]],
) -> list[tuple[list[tuple[Any, ...]], tuple[int, str] | None]]:
    """The batches' rows in order, as one batch — cut where a frame of unsendable rows sits."""
    parts: list[tuple[list[tuple[Any, ...]], tuple[int, str] | None]] = []
    rows: list[tuple[Any, ...]] = []
    for _, frame_rows in batches:
        if type(frame_rows) is tuple and frame_rows and frame_rows[0] == _UNSENDABLE:
            if rows:
                parts.append((rows, None))
                rows = []
            parts.append(([], (frame_rows[1], frame_rows[2])))
        else:
            rows += frame_rows
    if rows:
        parts.append((rows, None))
    return parts


def _answer(answers: int, answer: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError):  # the saving process is gone: commit what it sent
        _write_all(answers, _frame(marshal.dumps(answer)))


def _read_settings(inbox: _Inbox) -> StoreSettings | None:
    """The first frame; nothing follows it before this process says it is ready."""
    while not inbox.eof:
        inbox.read(None)
        frames = inbox.take()
        if frames:
            return StoreSettings(*marshal.loads(frames[0]))
    return None


def main() -> None:
    """Serve the pipes on stdin and stdout. Ctrl-C goes to the whole process group: the saving
    process decides what to do, and this one exits when its pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(_Inbox(sys.stdin.fileno()), sys.stdout.fileno())


if __name__ == "__main__":
    main()
