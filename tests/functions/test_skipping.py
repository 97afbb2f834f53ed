"""When each trigger runs and when it is skipped (CloudFront's table)."""

from __future__ import annotations

import pytest

from cdn.functions import Passage, Trigger, skip_reason, trigger_runs

FRESH_HIT = Passage(to_origin=False, origin_status=200)
MISS = Passage(to_origin=True, origin_status=200)


@pytest.mark.parametrize("passage", [FRESH_HIT, MISS, Passage()], ids=["hit", "miss", "start"])
def test_viewer_request_always_runs(passage: Passage) -> None:
    assert trigger_runs(Trigger.VIEWER_REQUEST, passage)


def test_origin_request_runs_on_a_miss() -> None:
    assert trigger_runs(Trigger.ORIGIN_REQUEST, MISS)


def test_origin_request_does_not_run_on_a_hit() -> None:
    assert not trigger_runs(Trigger.ORIGIN_REQUEST, FRESH_HIT)


def test_origin_response_does_not_run_on_a_fresh_hit() -> None:
    assert "served from cache" in skip_reason(Trigger.ORIGIN_RESPONSE, FRESH_HIT)


def test_origin_response_runs_for_origin_errors_too() -> None:
    assert trigger_runs(Trigger.ORIGIN_RESPONSE, Passage(to_origin=True, origin_status=503))


def test_origin_response_does_not_run_when_origin_request_generated_the_response() -> None:
    passage = Passage(to_origin=True, generated_by=Trigger.ORIGIN_REQUEST)
    assert not trigger_runs(Trigger.ORIGIN_RESPONSE, passage)


@pytest.mark.parametrize("passage", [FRESH_HIT, MISS], ids=["hit", "miss"])
def test_viewer_response_runs_for_hits_and_misses(passage: Passage) -> None:
    assert trigger_runs(Trigger.VIEWER_RESPONSE, passage)


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_viewer_response_does_not_run_for_origin_status_400_or_more(status: int) -> None:
    assert not trigger_runs(Trigger.VIEWER_RESPONSE, Passage(to_origin=True, origin_status=status))


@pytest.mark.parametrize(
    "trigger", [Trigger.ORIGIN_REQUEST, Trigger.ORIGIN_RESPONSE, Trigger.VIEWER_RESPONSE]
)
def test_nothing_after_viewer_request_runs_when_it_generated_the_response(trigger: Trigger) -> None:
    passage = Passage(generated_by=Trigger.VIEWER_REQUEST)
    assert skip_reason(trigger, passage) == "viewer-request generated the response"


def test_viewer_response_runs_on_a_response_origin_request_generated() -> None:
    passage = Passage(to_origin=True, origin_status=200, generated_by=Trigger.ORIGIN_REQUEST)
    assert trigger_runs(Trigger.VIEWER_RESPONSE, passage)
