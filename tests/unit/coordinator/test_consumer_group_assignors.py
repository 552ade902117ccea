"""The consumer group protocol's server-side assignors: uniform (sticky, balanced) and range."""

from __future__ import annotations

from embedded_broker.coordinator.assignors import MemberSpec, range_, uniform


def spec(*topics: str, **current: set[int]) -> MemberSpec:
    return MemberSpec(frozenset(topics), {t: frozenset(ps) for t, ps in current.items()})


def sizes(assignment: dict[str, dict[str, set[int]]]) -> dict[str, int]:
    return {m: sum(len(ps) for ps in a.values()) for m, a in assignment.items()}


def test_uniform_balances_and_covers_every_partition() -> None:
    result = uniform({"a": spec("t"), "b": spec("t"), "c": spec("t")}, {"t": 7})
    assert sorted(sizes(result).values()) == [2, 2, 3]
    assert set().union(*(a.get("t", set()) for a in result.values())) == set(range(7))


def test_uniform_is_sticky_when_a_member_joins() -> None:
    """The third member takes one partition from each of the two; they keep the rest."""
    before = {"a": {0, 1, 2}, "b": {3, 4, 5}}
    result = uniform(
        {"a": spec("t", t=before["a"]), "b": spec("t", t=before["b"]), "c": spec("t")}, {"t": 6}
    )
    assert sizes(result) == {"a": 2, "b": 2, "c": 2}
    assert result["a"]["t"] <= before["a"] and result["b"]["t"] <= before["b"]


def test_uniform_is_sticky_when_a_member_leaves() -> None:
    before = {"a": {0, 1}, "b": {2, 3}}
    result = uniform({"a": spec("t", t=before["a"]), "b": spec("t", t=before["b"])}, {"t": 6})
    assert sizes(result) == {"a": 3, "b": 3}
    assert before["a"] <= result["a"]["t"] and before["b"] <= result["b"]["t"]


def test_uniform_gives_a_topic_only_to_its_subscribers() -> None:
    result = uniform({"a": spec("x"), "b": spec("x", "y")}, {"x": 2, "y": 4})
    assert "y" not in result["a"]
    assert result["b"]["y"] == {0, 1, 2, 3}


def test_range_gives_contiguous_ranges_by_member_id() -> None:
    result = range_({"b": spec("t"), "a": spec("t"), "c": spec("t")}, {"t": 7})
    assert result == {"a": {"t": {0, 1, 2}}, "b": {"t": {3, 4}}, "c": {"t": {5, 6}}}
