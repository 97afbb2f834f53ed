"""Every function of a topology in one process: runners by name, chains per edge, idle reaping.

Rules: a function's code file must exist and define its handler (checked without running it,
by parsing the file) or the topology is refused with an error naming the file and key;
a background task stops instances idle past ``keep_warm`` (tests call ``reap()`` with an
injected clock instead).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from cdn.errors import ConfigError
from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind, Trigger
from cdn.functions.values import OriginTarget
from cdn.topology import Node, Topology
from fn.chain import FunctionChain, Runner
from fn.cloudfront import CloudFrontFunction
from fn.metrics import FunctionMetrics
from fn.pool import Clock, LambdaPool

__all__ = ["FunctionHost", "check_code", "origin_targets"]


def check_code(spec: FunctionSpec) -> None:
    """ConfigError naming ``spec.where`` unless the code file exists and defines the handler."""
    where = spec.where or spec.code
    path = Path(spec.code)
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            where, f"{path} does not exist", "a Python file (relative to the topology file)"
        ) from None
    except OSError as exc:
        raise ConfigError(where, f"{path} cannot be read: {exc.strerror}") from None
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}", f"is not valid Python: {exc.msg}") from None
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    if spec.handler not in names:
        raise ConfigError(
            where, f"{path} defines no {spec.handler!r}", f"def {spec.handler}(event, context)"
        )


def origin_targets(topology: Topology, node: Node) -> dict[str, OriginTarget]:
    """The origins a function on ``node`` may choose: the origin and the shields, by name."""
    targets = {}
    for candidate in (topology.origin, *topology.shields):
        targets[candidate.name] = OriginTarget(
            name=candidate.name, domain_name=candidate.name, port=candidate.port
        )
    return targets


class FunctionHost:
    """The runners of some functions, sharing one metrics registry and one clock."""

    def __init__(
        self,
        specs: Iterable[FunctionSpec],
        *,
        metrics: FunctionMetrics | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.metrics = metrics or FunctionMetrics()
        self.runners: dict[str, Runner] = {}
        for spec in specs:
            check_code(spec)
            if spec.kind is FunctionKind.CLOUDFRONT_FUNCTION:
                self.runners[spec.name] = CloudFrontFunction(spec, metrics=self.metrics)
            else:
                self.runners[spec.name] = LambdaPool(spec, metrics=self.metrics, clock=clock)
        self._reaper: asyncio.Task[None] | None = None

    @classmethod
    def from_topology(cls, topology: Topology, **kwargs) -> FunctionHost:
        """A host for every ``[[function]]`` of ``topology``."""
        return cls(topology.functions, **kwargs)

    def runner(self, name: str) -> Runner | None:
        """The runner of the function called ``name``."""
        return self.runners.get(name)

    def chain(
        self,
        associations: Mapping[Trigger, FunctionSpec],
        known_origins: Mapping[str, OriginTarget] | None = None,
    ) -> FunctionChain:
        """A FunctionChain of these runners for one edge's associations."""
        return FunctionChain(
            {trigger: self.runners[spec.name] for trigger, spec in associations.items()},
            known_origins,
        )

    async def reap(self) -> int:
        """Stop idle instances past their keep_warm; how many were stopped."""
        stopped = 0
        for runner in self.runners.values():
            if isinstance(runner, LambdaPool):
                stopped += await runner.reap()
        return stopped

    def start_reaping(self) -> None:
        """Reap in the background: every second, or sooner for a shorter keep_warm."""
        pools = [r for r in self.runners.values() if isinstance(r, LambdaPool)]
        if not pools or self._reaper is not None:
            return
        period = max(0.01, min(1.0, *(p.spec.keep_warm / 2 for p in pools)))

        async def loop() -> None:
            while True:
                await asyncio.sleep(period)
                await self.reap()

        self._reaper = asyncio.ensure_future(loop())

    async def close(self) -> None:
        """Stop reaping and every instance."""
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        for runner in self.runners.values():
            if isinstance(runner, LambdaPool):
                await runner.close()
