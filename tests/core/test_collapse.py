"""Request collapsing rules: leader, followers, cap, cacheable and uncacheable outcomes,
hit-for-pass, abandon, timeouts. ``now`` is injected; waiters are plain objects."""

from __future__ import annotations

import pytest

from cdn.collapse import Bypass, Collapser, Follow, Lead


class Waiter:
    """Stands in for the shell's future or event (identity is what matters)."""


def test_first_miss_leads() -> None:
    collapser: Collapser[Waiter] = Collapser()
    assert collapser.join("k", 0.0, Waiter()) == Lead("k")
    assert collapser.in_flight("k")


def test_later_misses_while_in_flight_follow_with_a_deadline() -> None:
    collapser: Collapser[Waiter] = Collapser(wait_timeout=5.0)
    collapser.join("k", 0.0, Waiter())
    assert collapser.join("k", 1.0, Waiter()) == Follow("k", 6.0)
    assert collapser.waiting("k") == 1


def test_keys_collapse_independently() -> None:
    collapser: Collapser[Waiter] = Collapser()
    assert isinstance(collapser.join("a", 0.0, Waiter()), Lead)
    assert isinstance(collapser.join("b", 0.0, Waiter()), Lead)
    assert len(collapser) == 2


def test_cacheable_finish_wakes_every_follower_in_arrival_order() -> None:
    collapser: Collapser[Waiter] = Collapser()
    collapser.join("k", 0.0, Waiter())
    followers = [Waiter() for _ in range(100)]
    for waiter in followers:
        collapser.join("k", 0.1, waiter)
    assert collapser.finish("k", cacheable=True, now=1.0) == followers
    assert not collapser.in_flight("k")
    assert collapser.stats.served_from_leader == 100
    # The next miss after the fetch leads again (no hit-for-pass for cacheable responses).
    assert collapser.join("k", 2.0, Waiter()) == Lead("k")


def test_followers_beyond_max_waiters_fetch_on_their_own() -> None:
    collapser: Collapser[Waiter] = Collapser(max_waiters=2)
    collapser.join("k", 0.0, Waiter())
    assert isinstance(collapser.join("k", 0.0, Waiter()), Follow)
    assert isinstance(collapser.join("k", 0.0, Waiter()), Follow)
    assert collapser.join("k", 0.0, Waiter()) == Bypass("k", "waiters-full")
    assert collapser.waiting("k") == 2


def test_max_waiters_zero_never_collapses() -> None:
    collapser: Collapser[Waiter] = Collapser(max_waiters=0)
    collapser.join("k", 0.0, Waiter())
    assert collapser.join("k", 0.0, Waiter()) == Bypass("k", "waiters-full")


def test_uncacheable_finish_releases_all_followers_at_once() -> None:
    collapser: Collapser[Waiter] = Collapser()
    collapser.join("k", 0.0, Waiter())
    followers = [Waiter() for _ in range(10)]
    for waiter in followers:
        collapser.join("k", 0.0, waiter)
    # All ten are handed back together: none of them becomes a new leader others queue behind.
    assert collapser.finish("k", cacheable=False, now=1.0) == followers
    assert collapser.stats.released_uncacheable == 10


def test_uncacheable_finish_marks_hit_for_pass_until_now_plus_lifetime() -> None:
    collapser: Collapser[Waiter] = Collapser(hit_for_pass_seconds=30.0)
    collapser.join("k", 0.0, Waiter())
    collapser.finish("k", cacheable=False, now=10.0)
    assert collapser.hit_for_pass_until("k", 10.0) == 40.0
    assert collapser.join("k", 39.9, Waiter()) == Bypass("k", "hit-for-pass")
    assert not collapser.in_flight("k")


def test_hit_for_pass_ends_and_collapsing_resumes() -> None:
    collapser: Collapser[Waiter] = Collapser(hit_for_pass_seconds=30.0)
    collapser.join("k", 0.0, Waiter())
    collapser.finish("k", cacheable=False, now=10.0)
    assert collapser.join("k", 40.0, Waiter()) == Lead("k")
    assert collapser.hit_for_pass_until("k", 40.0) is None


def test_hit_for_pass_is_per_key() -> None:
    collapser: Collapser[Waiter] = Collapser(hit_for_pass_seconds=30.0)
    collapser.join("k", 0.0, Waiter())
    collapser.finish("k", cacheable=False, now=0.0)
    assert collapser.join("other", 1.0, Waiter()) == Lead("other")


def test_zero_hit_for_pass_seconds_disables_the_mark() -> None:
    collapser: Collapser[Waiter] = Collapser(hit_for_pass_seconds=0.0)
    collapser.join("k", 0.0, Waiter())
    collapser.finish("k", cacheable=False, now=0.0)
    assert collapser.join("k", 0.0, Waiter()) == Lead("k")


def test_clear_hit_for_pass_forgets_the_mark() -> None:
    collapser: Collapser[Waiter] = Collapser(hit_for_pass_seconds=30.0)
    collapser.join("k", 0.0, Waiter())
    collapser.finish("k", cacheable=False, now=0.0)
    collapser.clear_hit_for_pass("k")
    assert collapser.join("k", 1.0, Waiter()) == Lead("k")


def test_expired_marks_are_dropped() -> None:
    collapser: Collapser[Waiter] = Collapser(hit_for_pass_seconds=1.0)
    for i in range(100):
        collapser.join(f"k{i}", float(i), Waiter())
        collapser.finish(f"k{i}", cacheable=False, now=float(i))
    collapser.join("fresh", 1000.0, Waiter())
    assert len(collapser._hit_for_pass) == 0


def test_abandon_releases_followers_without_hit_for_pass() -> None:
    collapser: Collapser[Waiter] = Collapser()
    collapser.join("k", 0.0, Waiter())
    followers = [Waiter(), Waiter()]
    for waiter in followers:
        collapser.join("k", 0.0, waiter)
    assert collapser.abandon("k") == followers
    assert not collapser.in_flight("k")
    assert collapser.join("k", 0.1, Waiter()) == Lead("k")
    assert collapser.abandon("missing") == []


def test_a_timed_out_follower_leaves_and_is_not_woken() -> None:
    collapser: Collapser[Waiter] = Collapser(wait_timeout=2.0)
    collapser.join("k", 0.0, Waiter())
    stays, leaves = Waiter(), Waiter()
    collapser.join("k", 0.0, stays)
    follow = collapser.join("k", 0.0, leaves)
    assert isinstance(follow, Follow) and follow.deadline == 2.0
    assert collapser.leave("k", leaves) is True
    assert collapser.finish("k", cacheable=True, now=3.0) == [stays]
    assert collapser.stats.timeouts == 1


def test_leave_after_being_woken_says_false() -> None:
    collapser: Collapser[Waiter] = Collapser()
    collapser.join("k", 0.0, Waiter())
    waiter = Waiter()
    collapser.join("k", 0.0, waiter)
    collapser.finish("k", cacheable=True, now=1.0)
    assert collapser.leave("k", waiter) is False


def test_leaving_frees_a_waiter_slot() -> None:
    collapser: Collapser[Waiter] = Collapser(max_waiters=1)
    collapser.join("k", 0.0, Waiter())
    first = Waiter()
    collapser.join("k", 0.0, first)
    collapser.leave("k", first)
    assert isinstance(collapser.join("k", 0.0, Waiter()), Follow)


def test_finish_without_a_leader_is_an_error() -> None:
    collapser: Collapser[Waiter] = Collapser()
    with pytest.raises(KeyError, match="no fetch in flight"):
        collapser.finish("k", cacheable=True, now=0.0)


def test_stats_count_each_decision() -> None:
    collapser: Collapser[Waiter] = Collapser(max_waiters=1, hit_for_pass_seconds=5.0)
    collapser.join("k", 0.0, Waiter())
    collapser.join("k", 0.0, Waiter())
    collapser.join("k", 0.0, Waiter())
    collapser.finish("k", cacheable=False, now=0.0)
    collapser.join("k", 1.0, Waiter())
    stats = collapser.stats
    assert (stats.leaders, stats.followers, stats.bypass_waiters_full) == (1, 1, 1)
    assert (stats.released_uncacheable, stats.bypass_hit_for_pass) == (1, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_waiters": -1}, "max_waiters -1"),
        ({"hit_for_pass_seconds": -1}, "hit_for_pass_seconds -1"),
        ({"wait_timeout": -1}, "wait_timeout -1"),
    ],
)
def test_bad_settings_fail_early_with_the_value(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Collapser(**kwargs)
