"""Helpers of tests/gateway: the scripted origin of tests/live (loaded by path under a name of
its own), a hand-moved clock, and gateways built from behaviors."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from cdn.gateway.behaviors import Behavior, Gateway, OriginGroup
from cdn.gateway.patterns import PathPattern

_SPEC = importlib.util.spec_from_file_location(
    "gateway_scripted_origin", Path(__file__).resolve().parents[1] / "live" / "scripted_origin.py"
)
assert _SPEC is not None and _SPEC.loader is not None
_SCRIPTED = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = _SCRIPTED  # dataclasses look their module up there
_SPEC.loader.exec_module(_SCRIPTED)

Reply = _SCRIPTED.Reply
ScriptedOrigin = _SCRIPTED.ScriptedOrigin

__all__ = ["Clock", "Reply", "ScriptedOrigin", "gateway_of"]


class Clock:
    """A hand-moved wall clock (seconds since the epoch)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def gateway_of(*behaviors: Behavior, groups: tuple[OriginGroup, ...] = ()) -> Gateway:
    """A gateway of ``behaviors`` then a default behavior to the origin."""
    default = Behavior(PathPattern("*"), "origin")
    return Gateway((*behaviors, default), origin_groups=groups)
