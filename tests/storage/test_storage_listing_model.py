"""Listings agree with a plain model of S3's rules, over any keys, prefix, delimiter and page size."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from storage.objectfile import ObjectInfo
from storage.store import Bucket, Store

keys = st.lists(st.text(alphabet="ab/.", min_size=1, max_size=6), unique=True, max_size=30)


def _model(all_keys: list[str], prefix: str, delimiter: str) -> list[str]:
    """Every entry S3 lists, in order: keys, and common prefixes once each."""
    entries: list[str] = []
    for key in sorted(all_keys):
        if not key.startswith(prefix):
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key[: cut + len(delimiter)] if cut >= 0 else key
        if not entries or entries[-1] != entry:
            entries.append(entry)
    return entries


def _paged(store: Store, bucket: Bucket, prefix: str, delimiter: str, page: int) -> list[str]:
    listed: list[str] = []
    after = ""
    for _ in range(100):
        listing = store.list_objects(
            bucket, prefix=prefix, delimiter=delimiter, after=after, max_keys=page
        )
        listed += [info.key for info in listing.objects] + list(listing.common_prefixes)
        if not listing.is_truncated:
            return sorted(listed)
        assert listing.next_marker is not None
        after = listing.next_marker
    raise AssertionError("the listing never ended")


@settings(max_examples=200, deadline=None)
@given(
    keys,
    st.sampled_from(["", "a", "a/", "b."]),
    st.sampled_from(["", "/", "."]),
    st.integers(1, 5),
)
def test_paged_listing_equals_the_model(all_keys, prefix, delimiter, page):
    store = Store(Path("/nonexistent"))
    bucket = Bucket("model", Path("/nonexistent/model"), 0.0)
    for key in all_keys:
        bucket.index(ObjectInfo(key=key, size=1, etag='"x"', last_modified=0.0))
    assert _paged(store, bucket, prefix, delimiter, page) == _model(all_keys, prefix, delimiter)
