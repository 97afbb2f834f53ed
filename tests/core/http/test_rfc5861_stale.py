"""RFC 5861: stale-while-revalidate (§3) and stale-if-error (§4), plus cdnlab's overrides."""

from __future__ import annotations

import dataclasses

from cdn.http import Miss, Revalidate, StaleHit, stale_on_error

SWR = {"Cache-Control": "max-age=600, stale-while-revalidate=30", "ETag": '"v"'}  # RFC 5861 §3
SIE = {"Cache-Control": "max-age=600, stale-if-error=1200", "ETag": '"v"'}  # RFC 5861 §4


def test_s3_within_stale_while_revalidate_serve_stale_and_refresh(lab):
    entry = lab.entry(SWR)
    decision = lab.decide([entry], lab.T0 + 615)
    assert isinstance(decision, StaleHit)
    assert decision.entry is entry and decision.age == 615
    assert isinstance(decision.refresh, Revalidate)
    assert decision.refresh.headers.get("if-none-match") == '"v"'


def test_s3_beyond_stale_while_revalidate_revalidate_synchronously(lab):
    decision = lab.decide([lab.entry(SWR)], lab.T0 + 631)
    assert isinstance(decision, Revalidate)


def test_s3_stale_while_revalidate_without_validator_refreshes_unconditionally(lab):
    entry = lab.entry({"Cache-Control": "max-age=60, stale-while-revalidate=30"})
    decision = lab.decide([entry], lab.T0 + 70)
    assert isinstance(decision, StaleHit)
    assert "if-none-match" not in decision.refresh.headers


def test_s3_must_revalidate_overrides_stale_while_revalidate(lab):
    entry = lab.entry(
        {"Cache-Control": "max-age=60, stale-while-revalidate=30, must-revalidate", "ETag": '"v"'}
    )
    assert isinstance(lab.decide([entry], lab.T0 + 70), Revalidate)


def test_s3_config_override_serves_stale_while_revalidating(make_lab):
    lab = make_lab(stale_while_revalidate_seconds=20)
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v"'})
    assert isinstance(lab.decide([entry], lab.T0 + 75), StaleHit)
    assert isinstance(lab.decide([entry], lab.T0 + 81), Revalidate)


def test_s4_stale_if_error_serves_stale_on_upstream_error(lab):
    entry = lab.entry(SIE)
    decision = lab.decide([entry], lab.T0 + 700)
    assert stale_on_error(decision, lab.T0 + 700, lab.config) is entry


def test_s4_stale_if_error_window_ends(lab):
    entry = lab.entry(SIE)
    decision = lab.decide([entry], lab.T0 + 1801)
    assert stale_on_error(decision, lab.T0 + 1801, lab.config) is None


def test_s4_without_stale_if_error_no_stale_on_error(lab):
    entry = lab.entry({"Cache-Control": "max-age=60", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 61)
    assert stale_on_error(decision, lab.T0 + 61, lab.config) is None


def test_s4_config_override_serves_stale_on_error(make_lab):
    lab = make_lab(stale_if_error_seconds=300)
    entry = lab.entry({"Cache-Control": "max-age=60"})
    decision = lab.decide([entry], lab.T0 + 200)
    assert (
        isinstance(decision, Miss) and stale_on_error(decision, lab.T0 + 200, lab.config) is entry
    )


def test_s4_must_revalidate_overrides_stale_if_error(make_lab):
    lab = make_lab(stale_if_error_seconds=300)
    entry = lab.entry(
        {"Cache-Control": "max-age=60, must-revalidate, stale-if-error=300", "ETag": '"v"'}
    )
    decision = lab.decide([entry], lab.T0 + 61)
    assert stale_on_error(decision, lab.T0 + 61, lab.config) is None


def test_s4_fresh_entry_revalidated_on_request_is_served_on_error(lab):
    entry = lab.entry({"Cache-Control": "max-age=600, must-revalidate", "ETag": '"v"'})
    decision = lab.decide([entry], lab.T0 + 5, lab.request({"Cache-Control": "no-cache"}))
    assert stale_on_error(decision, lab.T0 + 5, lab.config) is entry


def test_s4_soft_purged_entry_counts_as_stale_on_error(lab):
    purged = dataclasses.replace(lab.entry(SIE), invalidated=True)
    decision = lab.decide([purged], lab.T0 + 5)
    assert isinstance(decision, Revalidate)
    assert stale_on_error(decision, lab.T0 + 5, lab.config) is purged
    plain = dataclasses.replace(
        lab.entry({"Cache-Control": "max-age=600", "ETag": '"v"'}), invalidated=True
    )
    assert stale_on_error(lab.decide([plain], lab.T0 + 5), lab.T0 + 5, lab.config) is None


def test_s4_a_plain_miss_has_nothing_to_serve_on_error(lab):
    assert stale_on_error(lab.decide([], lab.T0), lab.T0, lab.config) is None
