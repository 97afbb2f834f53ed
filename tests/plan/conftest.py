"""Tiny plans over configs/local.toml (one shield, three peer edges) with small request counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

LOCAL = Path(__file__).resolve().parents[2] / "configs" / "local.toml"

SMALL_PLAN = """
base = "{base}"
objective = "{objective}"

[sweep]
cache_size = {cache_size}
policy = {policy}
shield = [true, false]
rate_scale = {rate_scale}

[slo]
{slo}

[cost]
pop = 100
shield = 400
cache_per_gib = 50

[run]
requests = 2000
seed = 5
"""


@pytest.fixture
def write_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a small plan file over configs/local.toml; keyword arguments fill its blanks."""

    def write(
        name: str = "small.toml",
        *,
        cache_size: str = '["256KiB", "2MiB"]',
        policy: str = '["lru", "s3fifo"]',
        rate_scale: str = "[1]",
        slo: str = "p95_ms = 400\norigin_offload = 0.3",
        objective: str = "cost",
        text: str | None = None,
    ) -> Path:
        path = tmp_path / name
        body = (
            text
            if text is not None
            else SMALL_PLAN.format(
                base=LOCAL.as_posix(),
                objective=objective,
                cache_size=cache_size,
                policy=policy,
                rate_scale=rate_scale,
                slo=slo,
            )
        )
        path.write_text(body, encoding="utf-8")
        return path

    return write
