"""Regional popularity: a shared global head, regional slots with one object per region."""

from __future__ import annotations

import numpy as np
import pytest

from cdn.cities import CONTINENTS, find_city
from cdn.topology import Location, UserRegion, Users, Workload
from cdn.workload import Popularity, RequestStream
from cdn.workload.popularity import REGIONS

EU, NA = list(CONTINENTS).index("EU"), list(CONTINENTS).index("NA")


def _workload(**changes: object) -> Workload:
    settings: dict = {"objects": 2000, "seed": 7, "regional_share": 0.3, "regional_head": 100}
    settings.update(changes)
    return Workload(**settings)


def _region(name: str, city: str) -> UserRegion:
    c = find_city(city)
    return UserRegion(name, Location(c.name, c.point, c.continent, c.timezone), 1.0)


def test_without_a_regional_share_ids_are_the_global_ones() -> None:
    plain = Popularity(_workload(regional_share=0.0))
    ranks = np.arange(2000)
    assert plain.regional_slots == 0
    assert plain.ids_for(ranks, np.zeros(2000)).tolist() == plain.permutation.tolist()


def test_the_head_is_the_same_in_every_region() -> None:
    popularity = Popularity(_workload())
    for rank in range(100):
        ids = {popularity.id_at_rank(rank, region=g) for g in range(REGIONS)}
        assert ids == {int(popularity.permutation[rank])}


def test_a_regional_slot_holds_a_different_object_in_each_region() -> None:
    popularity = Popularity(_workload())
    rank = int(np.flatnonzero(popularity.regional_slot >= 0)[0])
    ids = [popularity.id_at_rank(rank, region=g) for g in range(REGIONS)]
    assert len(set(ids)) == REGIONS
    assert [popularity.region_of(i) for i in ids] == list(range(REGIONS))


def test_the_regional_share_of_ranks_below_the_head_is_as_configured() -> None:
    popularity = Popularity(_workload(objects=100_000))
    tail = popularity.regional_slot[100:]
    assert (tail >= 0).mean() == pytest.approx(0.3, abs=0.01)


def test_regional_objects_sit_between_flash_crowds_and_drift() -> None:
    popularity = Popularity(_workload(new_objects_per_hour=3600.0))
    assert popularity.regional_base == 2000
    assert popularity.drift_base == 2000 + popularity.regional_slots * REGIONS


def test_ids_need_the_regions_when_the_workload_is_regional() -> None:
    with pytest.raises(ValueError, match="regions"):
        Popularity(_workload()).ids_for(np.array([500]), np.array([0.0]))


def test_regional_objects_are_requested_only_from_their_region() -> None:
    users = Users(source="regions", regions=(_region("eu", "Paris"), _region("na", "Chicago")))
    workload = _workload(users=users, rate=1000.0, duration=60.0)
    stream = RequestStream(workload)
    popularity = stream.popularity
    continent_of_user = {0: EU, 1: NA}
    regional = 0
    for request in stream.limited(20_000):
        if popularity.is_regional(request.obj_id):
            regional += 1
            assert popularity.region_of(request.obj_id) == continent_of_user[request.user]
    assert regional > 1000


def test_regional_popularity_keeps_the_stream_deterministic() -> None:
    workload = _workload(rate=500.0, duration=10.0)
    first = [r.obj_id for r in RequestStream(workload).limited(2000)]
    again = [r.obj_id for r in RequestStream(workload).limited(2000)]
    assert first == again
