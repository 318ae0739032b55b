"""SQLitePersister (and the in-memory persister) speak the loader/saver protocol, keep every save
in one transaction, share connections with their copies, and group-commit concurrent saves."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import pickle
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flowc import FlowRuntimeError
from flowc.runtime import persistence_commit
from flowc.runtime.persistence import (
    AsyncSQLitePersister,
    InMemoryPersister,
    PersistenceError,
    PersisterConfigError,
    SQLitePersister,
    SQLLitePersister,
    StatePersister,
)
from flowc.runtime.serialization import (
    SerializationRegistry,
    StateSerializationError,
    encode_payload,
)
from flowc.runtime.state import State


def rows(db: Path, table: str = "burr_state") -> list[tuple]:
    """What another connection (another process, after a crash) would see."""
    with sqlite3.connect(db) as connection:
        return connection.execute(
            f"SELECT partition_key, app_id, sequence_id, position, status FROM {table} ORDER BY id"
        ).fetchall()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state.db"


@pytest.fixture(params=["sqlite", "memory"])
def persister(request: pytest.FixtureRequest, db: Path):
    p = SQLitePersister(db) if request.param == "sqlite" else InMemoryPersister()
    p.initialize()
    yield p
    if isinstance(p, SQLitePersister):
        p.close()


def test_both_persisters_satisfy_the_protocol(persister) -> None:
    assert isinstance(persister, StatePersister)
    assert SQLLitePersister is SQLitePersister


def test_load_returns_the_latest_save_of_an_app(persister) -> None:
    persister.save("pk", "app", 1, "a", State({"n": 1}), "completed")
    persister.save("pk", "app", 2, "b", State({"n": 2, "when": dt.date(2026, 1, 1)}), "completed")
    loaded = persister.load("pk", "app")
    assert loaded is not None
    assert (loaded["app_id"], loaded["sequence_id"], loaded["position"]) == ("app", 2, "b")
    assert loaded["status"] == "completed" and loaded["partition_key"] == "pk"
    assert loaded["state"].get_all() == {"n": 2, "when": dt.date(2026, 1, 1)}
    assert isinstance(loaded["state"], State)
    assert loaded["created_at"]


def test_sqlite_rows_are_stamped_in_utc_as_sqlite_writes_its_own_default(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with SQLitePersister(tmp_path / "s.db") as p:
        p.save("pk", "app", 0, "a", State({"n": 1}), "completed")
        stamped = p.load("pk", "app")["created_at"]
        (sqlite_default,) = p.connection.execute(
            "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        ).fetchone()
    assert len(stamped) == len(sqlite_default) and stamped[-1] == sqlite_default[-1] == "Z"
    when = dt.datetime.strptime(stamped, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    assert before <= when <= dt.datetime.now(dt.UTC)


def test_load_by_sequence_id_and_missing_rows(persister) -> None:
    persister.save("pk", "app", 1, "a", State({"n": 1}), "completed")
    persister.save("pk", "app", 2, "b", State({"n": 2}), "completed")
    assert persister.load("pk", "app", 1)["state"]["n"] == 1
    assert persister.load("pk", "app", 7) is None
    assert persister.load("pk", "other") is None
    assert persister.load("other-partition", "app") is None


def test_a_failed_step_is_saved_with_its_status(persister) -> None:
    persister.save(None, "app", 1, "a", State({"n": 1}), "completed")
    persister.save(None, "app", 2, "b", State({"n": 1}), "failed")
    loaded = persister.load(None, "app")
    assert (loaded["position"], loaded["status"]) == ("b", "failed")
    assert loaded["partition_key"] == ""


def test_a_retried_sequence_id_loads_the_last_attempt(persister) -> None:
    persister.save("", "app", 2, "b", State({"n": 1}), "failed")
    persister.save("", "app", 2, "b", State({"n": 2}), "completed")
    loaded = persister.load("", "app")
    assert (loaded["status"], loaded["state"]["n"]) == ("completed", 2)


def test_list_app_ids_most_recent_first_per_partition(persister) -> None:
    for app in ("first", "second", "third"):
        persister.save("pk", app, 1, "a", State({}), "completed")
    persister.save("pk", "first", 2, "a", State({}), "completed")
    persister.save("elsewhere", "x", 1, "a", State({}), "completed")
    assert persister.list_app_ids("pk") == ["first", "third", "second"]
    assert persister.load("pk", None)["app_id"] == "first"


def test_an_unserialisable_value_raises_before_anything_is_written(persister) -> None:
    persister.save("pk", "app", 1, "a", State({"n": 1}), "completed")
    with pytest.raises(StateSerializationError) as caught:
        persister.save("pk", "app", 2, "b", State({"n": 2, "lock": threading.Lock()}), "completed")
    assert caught.value.key == "lock" and "lock" in caught.value.value_type
    assert persister.load("pk", "app")["sequence_id"] == 1


def test_status_must_be_completed_or_failed(persister) -> None:
    with pytest.raises(PersisterConfigError):
        persister.save("pk", "app", 1, "a", State({}), "done")


def test_a_table_name_is_never_interpolated_unchecked(db: Path) -> None:
    with pytest.raises(PersisterConfigError) as caught:
        SQLitePersister(db, table_name="t; DROP TABLE x")
    assert isinstance(caught.value, ValueError) and caught.value.code == "F533"
    with pytest.raises(PersisterConfigError):
        SQLitePersister(db, synchronous="SOMETIMES")


def test_values_that_look_like_sql_are_stored_verbatim(db: Path) -> None:
    p = SQLitePersister(db)
    evil = "x'); DROP TABLE burr_state; --"
    p.save(evil, evil, 1, evil, State({evil: evil}), "completed")
    assert p.load(evil, evil)["state"][evil] == evil
    p.close()


def test_a_saved_row_is_committed_when_save_returns(db: Path) -> None:
    p = SQLitePersister(db, table_name="custom_table")
    p.save("pk", "app", 1, "a", State({"n": 1}), "completed")
    assert rows(db, "custom_table") == [("pk", "app", 1, "a", "completed")]
    p.close()


def test_burr_style_construction_works_under_a_thread_pool(db: Path) -> None:
    p = SQLLitePersister(db_path=str(db), connect_kwargs={"check_same_thread": False})
    p.initialize()

    def work(i: int) -> int:
        p.save("", f"app-{i}", 1, "a", State({"i": i}), "completed")
        return p.load("", f"app-{i}")["state"]["i"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(work, range(200))) == list(range(200))
    assert isinstance(p.connection, sqlite3.Connection)
    p.connection.close()  # what Burr users do; the next use reopens
    assert p.load("", "app-3")["state"]["i"] == 3
    p.close()


def test_the_default_persister_works_from_threads_without_arguments(db: Path) -> None:
    p = SQLitePersister(db)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: p.save("", "a", i, "x", State({"i": i}), "completed"), range(50)))
    assert len(rows(db)) == 50
    assert p.load("", "a")["sequence_id"] == 49
    p.close()


def test_copies_share_one_writer_and_their_saves_are_durable_after_the_parents(db: Path) -> None:
    parent = SQLitePersister(db)
    children = [parent.copy() for _ in range(2000)]

    def branch(i: int) -> None:
        children[i].save("", f"child-{i}", 1, "work", State({"i": i}), "completed")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(branch, range(2000)))
    parent.save("", "parent", 1, "fan_out", State({"done": True}), "completed")
    # the parent's save returned, so every branch saved before it is on disk
    assert len(rows(db)) == 2001
    committer = parent._shared().committer
    assert committer.commits < 2001 / 4, "saves were not grouped into shared commits"
    parent.close()


def test_a_child_reads_its_own_queued_saves(db: Path) -> None:
    child = SQLitePersister(db).copy()
    child.save("", "c", 1, "a", State({"n": 1}), "completed")
    assert child.load("", "c")["state"]["n"] == 1
    assert child.list_app_ids("") == ["c"]
    child.close()


def test_copies_open_no_connections(db: Path) -> None:
    parent = SQLitePersister(db)
    parent.save("", "warm", 1, "a", State({}), "completed")
    parent.load("", "warm")
    before = len(os.listdir("/proc/self/fd"))
    copies = [parent.copy() for _ in range(1000)]
    for i, c in enumerate(copies):
        c.save("", f"c{i}", 1, "a", State({}), "completed")
    parent.flush()
    assert len(os.listdir("/proc/self/fd")) <= before
    parent.close()


def test_a_failed_deferred_write_surfaces_at_the_next_waiting_save(db: Path) -> None:
    parent = SQLitePersister(db)
    parent.save("", "p", 1, "a", State({}), "completed")  # writer connection now open
    with sqlite3.connect(db) as other:
        other.execute("DROP TABLE burr_state")
    parent.copy().save("", "c", 1, "a", State({}), "completed")
    with pytest.raises(PersistenceError) as caught:
        parent.flush()
    assert isinstance(caught.value, FlowRuntimeError) and caught.value.code == "F532"
    assert isinstance(caught.value.__cause__, sqlite3.Error)
    parent.close()


def test_a_lost_deferred_write_is_reported_once_then_later_saves_succeed(db: Path) -> None:
    parent = SQLitePersister(db)
    parent.copy().save("", "child", None, "a", State({}), "completed")  # NOT NULL: rolled back
    with pytest.raises(PersistenceError):
        parent.save("", "parent", 1, "a", State({}), "completed")
    parent.save("", "parent", 2, "a", State({}), "completed")
    parent.flush()
    saved = {row[0] for row in parent.connection.execute("SELECT app_id FROM burr_state")}
    assert saved == {"parent"}
    parent.close()


def test_closing_reports_a_lost_deferred_write_nobody_was_told_of(db: Path) -> None:
    parent = SQLitePersister(db)
    parent.copy().save("", "child", None, "a", State({}), "completed")
    with pytest.raises(PersistenceError) as caught:
        parent.close()
    assert caught.value.code == "F532"


def test_a_waiting_save_returns_exactly_when_its_own_row_is_committed(db: Path) -> None:
    """Savers whose rows land in different batches each hear of their own batch only: a good
    row's saver never gets another's error, and a lost row's saver is never told it saved."""
    persister = SQLitePersister(db)

    def save(outcomes: dict[str, bool], app_id: str, sequence_id: int | None) -> None:
        try:
            persister.save("", app_id, sequence_id, "a", State({}), "completed")
            outcomes[app_id] = True
        except PersistenceError:
            outcomes[app_id] = False

    for attempt in range(40):
        outcomes: dict[str, bool] = {}
        savers = [
            threading.Thread(target=save, args=(outcomes, f"lost{attempt}", None)),
            threading.Thread(target=save, args=(outcomes, f"kept{attempt}", 1)),
        ]
        for saver in savers:
            saver.start()
        for saver in savers:
            saver.join()
        saved = {row[0] for row in persister.connection.execute("SELECT app_id FROM burr_state")}
        assert outcomes == {app_id: app_id in saved for app_id in outcomes}
    assert persister._shared().committer.failures == []  # every loss was heard: none is kept
    persister.close()


def test_a_failed_batch_is_forgotten_once_every_saver_has_heard_of_it(db: Path) -> None:
    """A long-lived persister on a flaky disk must not keep every error (and its traceback)."""
    parent = SQLitePersister(db)
    committer = parent._shared().committer
    parent.copy().save("", "child", None, "a", State({}), "completed")  # nobody waits for it
    with pytest.raises(PersistenceError):
        parent.save("", "parent", 1, "a", State({}), "completed")  # hears of the child's loss
    with pytest.raises(PersistenceError):
        parent.save("", "lost", None, "a", State({}), "completed")  # hears of its own
    parent.save("", "parent", 2, "a", State({}), "completed")
    assert committer.failures == []
    parent.close()


# -- how a batch is written ----------------------------------------------------------------------


def stored(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT app_id, sequence_id, position, status, state FROM burr_state ORDER BY id"
        ).fetchall()


def write_one_batch(db: Path, batch: list[tuple]) -> None:
    """Rows as the committer takes them off its queue, written as one batch."""
    settings = SQLitePersister(db)._shared().settings
    connection = persistence_commit.open_connection(settings)
    persistence_commit.write_batch(connection, settings, batch)
    connection.close()


def queued(app: str, seq: int, position: str, status: str, values: dict) -> tuple:
    return ("", app, seq, position, status, REGISTRY.state_payload(State(values)))


REGISTRY = SerializationRegistry.default()
ODD_STATES = [
    {"n": 1, "s": "plain"},
    {"text": 'quotes " and \\ and \n, \u2028, \x00, é, 𝄞', "big": 10**30, "f": 1e-7, "neg": -0.0},
    {"nested": {"a": [1, 2.5, None, True]}, "t": (1, 2), "when": dt.date(2026, 1, 1)},
    {"empty": "", "z": None, "b": False, "huge": 1.5e300},
    {},
]


def test_a_batch_is_stored_in_queue_order_with_each_state_as_its_own_encoding_writes_it(
    db: Path,
) -> None:
    batch = [
        queued("map-0", 0, "work", "completed", ODD_STATES[0]),
        queued("map-1", 0, "work", "completed", ODD_STATES[1]),
        queued("map-1", 0, "work", "completed", ODD_STATES[3]),  # the same app again
        queued("map-2", 0, "work", "completed", ODD_STATES[2]),  # not flat: encoded at save
        queued("map-3", 0, "work", "failed", ODD_STATES[4]),
        queued("map-4", 1, "work", "completed", ODD_STATES[0]),
        queued("map-5", 0, "other", "completed", ODD_STATES[1]),
        queued("parent", 3, "fan_out", "completed", ODD_STATES[2]),
    ]
    write_one_batch(db, batch)
    assert stored(db) == [
        (app, seq, position, status, encode_payload(payload))
        for _, app, seq, position, status, payload in batch
    ]


def test_states_sqlite_cannot_read_as_json_are_written_row_by_row(db: Path) -> None:
    """SQLite's JSON reader refuses NaN and Infinity, which Python's JSON writes and reads."""
    batch = [
        queued(f"map-{i}", 0, "work", "completed", {"x": x})
        for i, x in enumerate([1.0, float("nan"), float("inf"), -float("inf")])
    ]
    write_one_batch(db, batch)
    assert [r[0] for r in stored(db)] == ["map-0", "map-1", "map-2", "map-3"]
    p = SQLitePersister(db)
    assert p.load("", "map-2")["state"]["x"] == float("inf")
    assert p.load("", "map-1")["state"]["x"] != p.load("", "map-1")["state"]["x"]  # NaN
    p.close()


def test_a_batch_of_more_runs_than_one_statement_takes_is_still_all_or_nothing(
    db: Path,
) -> None:
    runs = persistence_commit.MAX_RUNS_PER_STATEMENT + 50
    batch = [queued(f"map-{i}", 0, f"step{i % 2}", "completed", {"i": i}) for i in range(runs)]
    write_one_batch(db, batch)
    assert [r[0] for r in stored(db)] == [f"map-{i}" for i in range(runs)]

    broken = [queued(f"more-{i}", 0, f"step{i % 2}", "completed", {"i": i}) for i in range(runs)]
    broken[-1] = ("", "more-last", None, "step0", "completed", {"i": 0})  # NOT NULL fails
    with pytest.raises(sqlite3.IntegrityError):
        write_one_batch(db, broken)
    assert len(stored(db)) == runs  # the first statements of the failed batch were rolled back


def test_preloaded_children_are_each_served_once_then_read_from_the_database(db: Path) -> None:
    p = SQLitePersister(db)
    p.save("", "map1-0", 0, "a", State({"n": 1}), "completed")
    p.save("", "map1-0", 1, "b", State({"n": 2}), "completed")
    p.save("", "map10-0", 0, "a", State({"n": 9}), "completed")  # another prefix
    release = p.preload_children(None, "map1")
    first = p.load("", "map1-0")
    assert (first["sequence_id"], first["state"]["n"]) == (1, 2)  # the latest row, as load's
    assert p.load("", "map1-1") is None
    p.save("", "map1-1", 0, "a", State({"n": 3}), "completed")
    assert p.load("", "map1-1")["state"]["n"] == 3  # asked again: the database answers
    assert p.load("", "map10-0")["state"]["n"] == 9
    release()
    p.save("", "map1-0", 2, "c", State({"n": 4}), "completed")
    assert p.load("", "map1-0")["state"]["n"] == 4
    p.close()


def test_an_unopenable_database_is_a_persistence_error(tmp_path: Path) -> None:
    p = SQLitePersister(tmp_path / "no-such-dir" / "x.db")
    with pytest.raises(PersistenceError, match="cannot open"):
        p.save("", "a", 1, "x", State({}), "completed")


def test_a_closed_persister_refuses_to_save(db: Path) -> None:
    p = SQLitePersister(db)
    p.close()
    with pytest.raises(PersistenceError, match="closed"):
        p.save("", "a", 1, "x", State({}), "completed")


def test_a_pickled_persister_reopens_in_its_new_home(db: Path) -> None:
    p = SQLitePersister(db)
    p.save("", "a", 1, "x", State({"n": 1}), "completed")
    clone = pickle.loads(pickle.dumps(p.copy()))
    clone.save("", "b", 1, "x", State({"n": 2}), "completed")
    assert p.load("", "b")["state"]["n"] == 2
    clone.close()
    p.close()


def test_the_async_twin_saves_and_loads(db: Path) -> None:
    async def scenario() -> dict:
        p = AsyncSQLitePersister(db)
        await p.initialize()
        await asyncio.gather(
            *(p.copy().save("", f"c{i}", 1, "a", State({"i": i}), "completed") for i in range(20))
        )
        await p.save("", "parent", 1, "a", State({"n": 1}), "completed")
        loaded = await p.load("", "c7")
        ids = await p.list_app_ids("")
        p.close()
        return {"i": loaded["state"]["i"], "ids": len(ids)}

    assert asyncio.run(scenario()) == {"i": 7, "ids": 21}


def test_in_memory_copies_share_their_rows() -> None:
    p = InMemoryPersister()
    p.copy().save("", "c", 1, "a", State({"n": 1}), "completed")
    assert p.load("", "c")["state"]["n"] == 1
