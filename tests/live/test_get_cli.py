"""`cdn get`: a request from a place goes to the nearest edge and shows its cache headers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from cli.main import main

TOPOLOGY = """
[origin]
name = "origin"
port = 18100
city = "Ashburn"

[[edge]]
name = "edge-par"
port = 18121
city = "Paris"
cache_size = "16MiB"

[[edge]]
name = "edge-nrt"
port = 18122
city = "Tokyo"
cache_size = "16MiB"
"""


async def cdn_get(*argv: str) -> int:
    # urllib blocks: run the command in a thread so the servers keep serving on this loop.
    return await asyncio.to_thread(main, ["get", *argv])


async def test_a_user_in_osaka_is_served_by_the_tokyo_edge(
    start_origin, start_edge, tmp_path: Path, capsys
):
    origin = await start_origin()
    paris, tokyo = await start_edge(origin), await start_edge(origin)
    topology = tmp_path / "t.toml"
    topology.write_text(TOPOLOGY)
    overrides = ["--edge-url", f"edge-par={paris}", "--edge-url", f"edge-nrt={tokyo}"]
    common = ["--topology", str(topology), *overrides]
    assert await cdn_get("/obj/5", "--from", "Osaka", *common) == 0
    assert await cdn_get("/obj/5", "--from", "34.69,135.50", *common) == 0
    out = capsys.readouterr().out
    assert out.count("-> edge-nrt in Tokyo") == 2
    assert "X-Cache: MISS" in out
    assert "X-Cache: HIT" in out


async def test_an_unknown_place_is_a_clear_error(tmp_path: Path, capsys):
    topology = tmp_path / "t.toml"
    topology.write_text(TOPOLOGY)
    assert await cdn_get("/obj/5", "--from", "Nowhereville", "--topology", str(topology)) == 2
    assert "unknown city 'Nowhereville'" in capsys.readouterr().err


async def test_an_edge_that_does_not_answer_is_a_clear_error(tmp_path: Path, capsys, free_port):
    topology = tmp_path / "t.toml"
    topology.write_text(TOPOLOGY)
    url = f"edge-par=http://127.0.0.1:{free_port}"
    code = await cdn_get("/x", "--from", "Paris", "--topology", str(topology), "--edge-url", url)
    assert code == 2
    assert "edge-par at http://127.0.0.1:" in capsys.readouterr().err
