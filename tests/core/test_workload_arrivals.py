"""The request stream: determinism across processes, Poisson and constant arrivals, the daily
cycle, flash crowds, drift, windows, limits and shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cdn.geo import Point
from cdn.topology import FlashCrowd, Location, UserRegion, Users, Workload
from cdn.workload import Catalog, Popularity, RequestStream, UserModel, WorkloadRequest, requests

ONE_REGION = Users(
    source="regions",
    regions=(UserRegion("greenwich", Location("0,0", Point(51.48, 0.0), "EU")),),
)


def _stream(**changes: object) -> RequestStream:
    settings: dict[str, object] = {"objects": 10_000, "rate": 1000.0, "duration": 60.0}
    settings["users"] = ONE_REGION
    settings.update(changes)
    stream_options = {k: settings.pop(k) for k in ("arrival", "start", "limit") if k in settings}
    return RequestStream(Workload(**settings), **stream_options)


def _collect(stream: RequestStream) -> list[WorkloadRequest]:
    return list(stream)


_CHILD = """
import json
from cdn.topology import Workload
from cdn.workload import RequestStream
stream = RequestStream(Workload(objects=50_000, rate=5000, duration=3600, seed=11,
                                daily_cycle=0.4), limit=10_000)
print(json.dumps([list(r) for r in stream]))
"""


def _first_10k_in_child(hash_seed: str) -> list[list[float]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_same_seed_gives_the_same_first_10k_requests_in_every_process() -> None:
    first, second = _first_10k_in_child("0"), _first_10k_in_child("777")
    workload = Workload(objects=50_000, rate=5000, duration=3600, seed=11, daily_cycle=0.4)
    here = [list(r) for r in RequestStream(workload, limit=10_000)]
    assert len(here) == 10_000
    assert first == second == here


def test_requests_are_in_time_order_within_the_duration() -> None:
    times = np.array([r.time for r in _stream()])
    assert np.all(np.diff(times) >= 0)
    assert times[0] >= 0 and times[-1] < 60.0


def test_request_fields_agree_with_the_catalog_and_users() -> None:
    stream = _stream(users=Users(source="cities", cities=20))
    catalog = Catalog(stream.workload)
    for request in stream.limited(2000):
        assert request.size == catalog.size_of(request.obj_id)
        assert 0 <= request.user < 20
        assert 0 <= request.obj_id < 10_000


def test_a_different_seed_gives_a_different_stream() -> None:
    a = [r.obj_id for r in _stream(limit=100)]
    b = [r.obj_id for r in RequestStream(_stream().workload, seed=99, limit=100)]
    assert a != b


def test_poisson_inter_arrivals_have_mean_one_over_rate_and_cv_one() -> None:
    times = np.concatenate([b.times for b in _stream(duration=200.0).batches()])
    gaps = np.diff(times)
    assert abs(gaps.mean() * 1000.0 - 1) < 0.02
    assert abs(gaps.std() / gaps.mean() - 1) < 0.02


def test_constant_arrivals_are_evenly_spaced_at_the_rate() -> None:
    times = np.array([r.time for r in _stream(arrival="constant", duration=10.0)])
    assert len(times) == 10_000
    assert np.allclose(np.diff(times), 1 / 1000.0)


def test_daily_cycle_peaks_at_20h_local_and_keeps_the_day_average() -> None:
    # One region at UTC+0 (no time zone, longitude 0): local time is stream time.
    stream = _stream(rate=4.0, duration=86_400.0, daily_cycle=0.5)
    times = np.concatenate([b.times for b in stream.batches()])
    per_hour = np.bincount((times // 3600).astype(int), minlength=24)
    assert abs(len(times) / (4.0 * 86_400) - 1) < 0.02
    # Expected rate factor 1 + 0.5 cos(...): 1.5 around 20:00 and 0.5 around 08:00.
    peak = per_hour[19:22].sum() / 3
    trough = per_hour[7:10].sum() / 3
    assert 2.6 < peak / trough < 3.3
    assert stream.rate_at(20 * 3600) == pytest.approx(6.0)
    assert stream.rate_at(8 * 3600) == pytest.approx(2.0)


def test_daily_cycle_follows_each_users_time_zone() -> None:
    east = UserRegion("east", Location("0,120", Point(0.0, 120.0), "AS"))  # UTC+8
    west = UserRegion("west", Location("0,-90", Point(0.0, -90.0), "NA"))  # UTC-6
    stream = _stream(
        rate=4.0,
        duration=86_400.0,
        daily_cycle=1.0,
        users=Users(source="regions", regions=(east, west)),
    )
    batches = list(stream.batches())
    times = np.concatenate([b.times for b in batches])
    users = np.concatenate([b.users for b in batches])
    # East peaks at 20:00 local = 12:00 UTC; west at 20:00 local = 02:00 UTC.
    east_hours = np.bincount((times[users == 0] // 3600).astype(int), minlength=24)
    west_hours = np.bincount((times[users == 1] // 3600).astype(int), minlength=24)
    assert int(np.argmax(np.convolve(east_hours, np.ones(3), "same"))) in (11, 12, 13)
    assert int(np.argmax(np.convolve(west_hours, np.ones(3), "same"))) in (1, 2, 3)


def test_flash_crowd_sends_its_share_to_new_hot_objects_during_its_window() -> None:
    crowd = FlashCrowd(at=20.0, duration=10.0, objects=5, share=0.3)
    stream = _stream(flash_crowds=(crowd,))
    hot = Popularity(stream.workload).flash_ids(0)
    assert hot == range(10_000, 10_005)
    inside = [r for r in stream if 20.0 <= r.time < 30.0]
    outside = [r for r in stream if not 20.0 <= r.time < 30.0]
    share = sum(r.obj_id in hot for r in inside) / len(inside)
    assert abs(share - 0.3) < 0.02
    assert not any(r.obj_id in hot for r in outside)
    counts = np.bincount([r.obj_id - 10_000 for r in inside if r.obj_id in hot], minlength=5)
    assert counts.min() > 0.8 * counts.mean()


def test_drift_adds_new_objects_that_become_the_most_popular() -> None:
    stream = _stream(new_objects_per_hour=360.0, zipf_alpha=1.0, duration=120.0)  # one per 10 s
    base = Popularity(stream.workload).drift_base
    requests_ = list(stream)
    assert not any(r.obj_id >= base for r in requests_ if r.time < 10.0)
    late = [r.obj_id for r in requests_ if r.time >= 110.0]
    ids, counts = np.unique(late, return_counts=True)
    assert ids[np.argmax(counts)] == base + 10  # the eleventh new object, born at t=110
    assert max(r.obj_id for r in requests_) == base + 10


def test_shards_split_the_stream_disjointly_and_cover_it() -> None:
    full = _collect(_stream())
    shards = [_collect(_stream().shard(i, 3)) for i in range(3)]
    assert sum(len(s) for s in shards) == len(full)
    assert sorted(r for s in shards for r in s) == sorted(full)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 0.01 * len(full)


def test_a_shard_cannot_be_sharded_again() -> None:
    with pytest.raises(ValueError, match="already a shard"):
        _stream().shard(0, 2).shard(0, 2)


def test_bad_shard_index_fails_early() -> None:
    with pytest.raises(ValueError, match="shard 3 of 3"):
        _stream().shard(3, 3)


def test_a_window_is_the_same_stream_cut_in_time() -> None:
    full = _collect(_stream())
    part = _collect(_stream().window(12.5, 20.0))
    assert part == [r for r in full if 12.5 <= r.time < 32.5]
    assert _collect(_stream(start=12.5, duration=47.5)) == [r for r in full if r.time >= 12.5]


def test_limit_caps_the_number_of_requests() -> None:
    full = _collect(_stream())
    assert _collect(_stream(limit=1234)) == full[:1234]
    assert _collect(_stream(limit=0)) == []


def test_batches_and_iteration_agree() -> None:
    stream = _stream()
    from_batches = [r for batch in stream.batches() for r in batch]
    assert from_batches == _collect(stream)


def test_requests_function_is_the_stream() -> None:
    workload = Workload(objects=100, rate=50.0, duration=5.0, users=ONE_REGION)
    users = UserModel(ONE_REGION)
    assert list(requests(workload, users, limit=10)) == list(
        RequestStream(workload, users=users, limit=10)
    )


def test_unknown_arrival_process_is_refused() -> None:
    with pytest.raises(ValueError, match="'bursty'"):
        _stream(arrival="bursty")


def test_popular_objects_get_their_zipf_share() -> None:
    stream = _stream(zipf_alpha=0.9, duration=200.0)
    popularity = Popularity(stream.workload)
    ids = np.concatenate([b.obj_ids for b in stream.batches()])
    top = popularity.permutation[0]
    expected = float(popularity.zipf.pmf(1))
    assert abs((ids == top).mean() - expected) < 0.005
