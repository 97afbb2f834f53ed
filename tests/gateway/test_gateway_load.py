"""`cdn load` through configs/gateway.toml's edge: the workload's path mix, the topology's API
keys drawn per request, signed URLs, and the edge's refusals booked per behavior as throttled
and forbidden."""

from __future__ import annotations

from pathlib import Path

from cdn.topology import load_topology
from edge.settings import EdgeSettings
from loadgen import LoadPlan, run_load
from loadgen.schedule import Schedule

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


async def test_load_on_the_gateway_example_books_refusals_per_behavior(
    start_origin, start_edge_server
) -> None:
    topology = load_topology(CONFIGS / "gateway.toml")
    origin = await start_origin(topology)
    node = EdgeSettings.from_topology(topology, "edge-par")
    edge = await start_edge_server(
        origin, gateway=node.gateway, api_key_values=node.api_key_values, node_urls=node.node_urls
    )
    plan = LoadPlan(topology=topology, targets=(edge.url,), rate=200, requests=300, seed=3)
    report = await run_load(plan)
    stats = report.stats
    assert stats.total.errors == 0
    behaviors = stats.behaviors
    assert set(behaviors) == {"/echo*", "/static/*", "/obj/*"}
    # The API's requests carry the demo keys (a few none, keyless_share = 0.02): served up to
    # each key's burst, then throttled.
    api = behaviors["/echo*"]
    assert api.throttled > 0
    assert api.responses > api.throttled + api.forbidden
    assert api.forbidden < api.requests / 10
    # The load generator signs the private objects' URLs with the demo key (configs/keys/):
    # only their POSTs (post_share = 0.05; GET and HEAD allowed) are refused.
    assert behaviors["/obj/*"].forbidden == _posts(plan, "/obj/") > 0
    assert behaviors["/obj/*"].responses == behaviors["/obj/*"].requests > 0
    assert behaviors["/static/*"].throttled == behaviors["/static/*"].forbidden == 0
    assert stats.by_cache_status["throttled"].requests == stats.total.throttled
    # preflight_share = 0.05 of the API's requests are CORS preflights, answered by the edge.
    assert api.preflight == _sent(plan, "OPTIONS", "/echo/") > 0
    assert stats.total.preflight == api.preflight


def _sent(plan: LoadPlan, method: str, prefix: str) -> int:
    """The requests with ``method`` ``plan`` sends to paths under ``prefix`` (its schedule)."""
    schedule = Schedule(plan)
    sent = [schedule.resolve_path(b, k) for b in schedule.batches() for k in range(len(b))]
    return sum(m == method and path.startswith(prefix) for m, path, _ in sent)


def _posts(plan: LoadPlan, prefix: str) -> int:
    """The POSTs ``plan`` sends to paths under ``prefix`` (its schedule, drawn as the run's)."""
    return _sent(plan, "POST", prefix)


def _cookie_topology(tmp_path: Path):
    """configs/gateway.toml with the private objects signed by cookies and sent as GETs only."""
    text = (CONFIGS / "gateway.toml").read_text()
    old = 'path = "/obj/{id}"\nshare = 0.1\npost_share = 0.05\n'
    assert old in text
    text = text.replace(old, 'path = "/obj/{id}"\nshare = 0.1\nsigning = "cookies"\n')
    (tmp_path / "keys").symlink_to(CONFIGS / "keys")
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return load_topology(path)


def test_signed_cookies_carry_the_signature_instead_of_the_url(tmp_path) -> None:
    topology = _cookie_topology(tmp_path)
    schedule = Schedule(LoadPlan(topology=topology, targets=("http://127.0.0.1:9",), requests=300))
    sent = [schedule.resolve_path(b, k) for b in schedule.batches() for k in range(len(b))]
    private = [(path, route) for _, path, route in sent if path.startswith("/obj/")]
    assert private
    for path, route in private:
        assert "Signature=" not in path
        assert "CloudFront-Signature=" in route.headers["Cookie"]


async def test_the_edge_accepts_the_load_generators_signed_cookies(
    start_origin, start_edge_server, tmp_path
) -> None:
    topology = _cookie_topology(tmp_path)
    origin = await start_origin(topology)
    node = EdgeSettings.from_topology(topology, "edge-par")
    edge = await start_edge_server(
        origin, gateway=node.gateway, api_key_values=node.api_key_values, node_urls=node.node_urls
    )
    plan = LoadPlan(topology=topology, targets=(edge.url,), rate=200, requests=300, seed=3)
    private = (await run_load(plan)).stats.behaviors["/obj/*"]
    assert private.forbidden == 0
    assert private.responses == private.requests > 0
