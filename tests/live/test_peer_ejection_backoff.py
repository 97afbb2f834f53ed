"""Passive ejection of a failing peer lasts a backoff that grows, and an answer resets it
(edge/peers.py, Envoy's outlier detection); the clock is injected."""

from __future__ import annotations

from edge.peers import EJECT_AFTER, EJECT_MAX, PeerSet, ejection_backoff
from edge.settings import Peer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _peers(clock: Clock) -> tuple[PeerSet, str]:
    peers = PeerSet("edge-a", (Peer("edge-b", "http://127.0.0.1:1"),), clock=clock)
    key = next(f"/k{i}" for i in range(1000) if peers.owner(f"/k{i}") == "edge-b")
    return peers, key


def _routed(peers: PeerSet, key: str) -> bool:
    return [peer.name for peer in peers.route(key)] == ["edge-b"]


def test_the_backoff_doubles_from_one_second_up_to_the_cap() -> None:
    assert [ejection_backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert ejection_backoff(50) == EJECT_MAX


def test_a_refused_peer_is_skipped_for_one_second_then_tried_again() -> None:
    clock = Clock()
    peers, key = _peers(clock)
    peers.failed("edge-b", refused=True)
    assert not _routed(peers, key)
    clock.now += 0.9
    assert not _routed(peers, key)
    clock.now += 0.2
    assert _routed(peers, key)


def test_each_ejection_in_a_row_lasts_twice_as_long() -> None:
    clock = Clock()
    peers, key = _peers(clock)
    for expected in (1.0, 2.0, 4.0, 8.0):
        peers.failed("edge-b", refused=True)  # on probation: one failure ejects again
        clock.now += expected - 0.01
        assert not _routed(peers, key)
        clock.now += 0.02
        assert _routed(peers, key)


def test_an_answer_resets_the_backoff() -> None:
    clock = Clock()
    peers, key = _peers(clock)
    for _ in range(3):
        peers.failed("edge-b", refused=True)
        clock.now += 10
    peers.answered("edge-b")
    assert peers.status() == {"edge-b": "up"}
    peers.failed("edge-b", refused=True)
    clock.now += 1.01
    assert _routed(peers, key)  # back to 1 s


def test_failures_that_are_not_refusals_eject_after_a_run_of_them() -> None:
    clock = Clock()
    peers, key = _peers(clock)
    for _ in range(EJECT_AFTER - 1):
        peers.failed("edge-b", refused=False)
        assert _routed(peers, key)
    peers.failed("edge-b", refused=False)
    assert not _routed(peers, key)


def test_a_peer_stays_down_in_its_status_until_it_answers() -> None:
    clock = Clock()
    peers, _ = _peers(clock)
    peers.failed("edge-b", refused=True)
    clock.now += 60  # the ejection is over, but nothing has answered since
    assert peers.status() == {"edge-b": "down"}
    peers.answered("edge-b")
    assert peers.status() == {"edge-b": "up"}


def test_failures_of_requests_in_flight_do_not_lengthen_a_running_ejection() -> None:
    clock = Clock()
    peers, key = _peers(clock)
    ejected: list[str] = []
    peers.on_down = ejected.append
    for _ in range(5):
        peers.failed("edge-b", refused=True)
    assert ejected == ["edge-b"]
    clock.now += 1.01
    assert _routed(peers, key)
