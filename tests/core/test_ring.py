"""Consistent hash ring: cross-process determinism, movement on membership change, balance,
fail-over order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from cdn.ring import HashRing, ring_hash

NODES = [f"edge-{i}" for i in range(5)]
KEYS = [f"http://cdn.test/obj/{i}" for i in range(1000)]

_CHILD = (
    "import json\n"
    "from cdn.ring import HashRing\n"
    f"ring = HashRing({NODES!r})\n"
    f"print(json.dumps([ring.owner(f'http://cdn.test/obj/{{i}}') for i in range({len(KEYS)})]))\n"
)


def _owners_in_child(hash_seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_owners_agree_across_processes_with_different_hash_seeds() -> None:
    first = _owners_in_child("1")
    second = _owners_in_child("4242")
    parent = [HashRing(NODES).owner(key) for key in KEYS]
    assert first == second == parent


def test_ring_positions_are_blake2b_not_builtin_hash() -> None:
    # A fixed value pins the hash function: any change would reshuffle every deployed ring.
    assert ring_hash("edge-0#0") == int.from_bytes(
        __import__("hashlib").blake2b(b"edge-0#0", digest_size=8).digest(), "big"
    )


def test_node_order_does_not_change_ownership() -> None:
    forward, backward = HashRing(NODES), HashRing(reversed(NODES))
    assert all(forward.owner(k) == backward.owner(k) for k in KEYS)


def test_adding_a_node_moves_about_one_in_n_plus_one_keys_all_to_the_new_node() -> None:
    keys = [f"/obj/{i}" for i in range(20_000)]
    ring = HashRing([f"n{i}" for i in range(9)])
    grown = ring.with_node("n9")
    before = [ring.owner(k) for k in keys]
    after = [grown.owner(k) for k in keys]
    moved = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert all(a == "n9" for _, a in moved)
    assert abs(len(moved) / len(keys) - 1 / 10) < 0.03


def test_removing_a_node_moves_only_its_keys_to_their_next_node() -> None:
    keys = [f"/obj/{i}" for i in range(20_000)]
    ring = HashRing([f"n{i}" for i in range(10)])
    shrunk = ring.without_node("n3")
    for key in keys:
        owner = ring.owner(key)
        if owner == "n3":
            assert shrunk.owner(key) == ring.owners(key, 2)[1]
        else:
            assert shrunk.owner(key) == owner


def test_balance_with_160_vnodes_is_within_20_percent_of_fair_for_10_nodes() -> None:
    ring = HashRing([f"node-{i}" for i in range(10)])
    counts = Counter(ring.owner(f"/obj/{i}") for i in range(100_000))
    assert set(counts) == set(ring.nodes)
    for count in counts.values():
        assert abs(count / 10_000 - 1) <= 0.20
    for share in ring.shares().values():
        assert abs(share * 10 - 1) <= 0.20


def test_shares_sum_to_one() -> None:
    assert sum(HashRing(NODES).shares().values()) == pytest.approx(1.0)


def test_owners_lists_distinct_nodes_starting_with_the_owner() -> None:
    ring = HashRing(NODES)
    for key in KEYS[:200]:
        order = ring.owners(key)
        assert order[0] == ring.owner(key)
        assert sorted(order) == sorted(NODES)
        assert ring.owners(key, 2) == order[:2]
    assert ring.owners("k", 0) == []
    assert len(ring.owners("k", 99)) == len(NODES)


def test_a_down_node_is_skipped_and_its_keys_go_to_the_next_node_on_the_ring() -> None:
    ring = HashRing(NODES)
    for key in KEYS[:300]:
        order = ring.owners(key)
        alive = set(NODES) - {order[0]}
        assert ring.owner_among(key, alive) == order[1]
        assert ring.owner_excluding(key, {order[0]}) == order[1]
        assert ring.owner_excluding(key, set(order[:2])) == order[2]
        # The fail-over order agrees with a ring that really lost the node.
        assert ring.without_node(order[0]).owner(key) == order[1]


def test_owner_among_no_alive_node_is_none() -> None:
    ring = HashRing(NODES)
    assert ring.owner_among("k", set()) is None
    assert ring.owner_excluding("k", set(NODES)) is None


def test_with_node_and_without_node_return_new_rings() -> None:
    ring = HashRing(["a", "b"])
    grown = ring.with_node("c")
    assert ring.nodes == ("a", "b")
    assert grown.nodes == ("a", "b", "c")
    assert grown.without_node("c").nodes == ("a", "b")
    assert ring.with_node("a").nodes == ("a", "b")


def test_without_an_unknown_node_names_the_nodes() -> None:
    with pytest.raises(KeyError, match="'z' is not on the ring"):
        HashRing(["a"]).without_node("z")


def test_an_empty_ring_has_no_owner() -> None:
    with pytest.raises(LookupError, match="no nodes"):
        HashRing([]).owner("k")


def test_bad_vnodes_fail_early_with_the_value() -> None:
    with pytest.raises(ValueError, match="vnodes 0"):
        HashRing(["a"], vnodes=0)


def test_a_single_node_owns_everything() -> None:
    ring = HashRing(["only"], vnodes=1)
    assert {ring.owner(k) for k in KEYS} == {"only"}
