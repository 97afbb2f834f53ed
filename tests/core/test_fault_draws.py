"""The injected-error draw the live origin and the simulator share (cdn.fault_draws)."""

from __future__ import annotations

from cdn.fault_draws import injected_error


def test_a_draw_depends_only_on_seed_path_and_attempt() -> None:
    first = [injected_error(7, f"/obj/{i}", 0, 0.1) for i in range(500)]
    assert first == [injected_error(7, f"/obj/{i}", 0, 0.1) for i in range(500)]
    assert first != [injected_error(8, f"/obj/{i}", 0, 0.1) for i in range(500)]


def test_about_the_rate_of_draws_fail() -> None:
    failed = sum(injected_error(1, f"/obj/{i}", 0, 0.1) for i in range(20_000))
    assert 1_800 < failed < 2_200


def test_each_attempt_for_a_path_is_a_draw_of_its_own() -> None:
    attempts = [injected_error(1, "/obj/1", n, 0.5) for n in range(40)]
    assert set(attempts) == {True, False}


def test_rates_zero_and_one_never_and_always_fail() -> None:
    assert not any(injected_error(1, f"/obj/{i}", 0, 0.0) for i in range(100))
    assert all(injected_error(1, f"/obj/{i}", 0, 1.0) for i in range(100))
