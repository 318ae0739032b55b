"""collector_paused: the cyclic collector is off inside, restored after, and a clean pause hands
its objects to the oldest generation so the next collection does not rescan them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from flowc.compiler.collector import collector_paused


class Node:
    """A tracked object, like the AST and IR nodes the compiler makes."""


def generation_of(obj: object) -> int | None:
    for generation in range(3):
        if any(o is obj for o in gc.get_objects(generation=generation)):
            return generation
    return None


@pytest.fixture(autouse=True)
def collector_enabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_objects_made_in_a_clean_pause_go_to_the_oldest_generation() -> None:
    with collector_paused():
        made = [Node() for _ in range(1000)]
        assert generation_of(made[0]) == 0
    assert generation_of(made[0]) == 2
    assert generation_of(made) == 2
    assert gc.get_count()[0] < 50  # the allocations of the pause no longer trigger a collection


def test_objects_made_in_a_failed_pause_stay_young() -> None:
    made: list[Node] = []
    with pytest.raises(ValueError), collector_paused():
        made.append(Node())
        raise ValueError("the block failed")
    assert gc.isenabled()
    assert generation_of(made[0]) == 0


def test_a_nested_pause_leaves_promotion_to_the_outermost() -> None:
    with collector_paused():
        with collector_paused():
            inner = Node()
        assert not gc.isenabled()
        assert generation_of(inner) == 0
    assert generation_of(inner) == 2


def test_a_callers_own_pause_is_kept_and_nothing_is_promoted() -> None:
    gc.disable()
    with collector_paused():
        made = Node()
    assert not gc.isenabled()
    assert generation_of(made) == 0


def test_objects_the_program_froze_stay_frozen() -> None:
    frozen_by_program = Node()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with collector_paused():
            made = Node()
        assert gc.get_freeze_count() == frozen
        assert generation_of(frozen_by_program) is None  # still in the permanent generation
        assert generation_of(made) == 0
    finally:
        gc.unfreeze()
