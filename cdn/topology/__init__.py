"""Topologies: the CDN a file describes (model), reading it (parse), and its cache rules (rules).

Rules: see each module; everything a shell needs is importable from ``cdn.topology``.
"""

from cdn.topology.model import (
    DEFAULT_RULE,
    KNOWN_POLICIES,
    ORIGIN_KINDS,
    ROLES,
    SIZE_DISTRIBUTIONS,
    CacheRule,
    Cost,
    EdgeSettings,
    FlashCrowd,
    Location,
    Network,
    Node,
    QueryVariant,
    SizeDistribution,
    Topology,
    UserRegion,
    Users,
    Workload,
    WorkloadPath,
    rule_for,
)
from cdn.topology.parse import default_topology_path, load_topology, parse_topology
from cdn.topology.rules import rule_headers, surrogate_keys

__all__ = [
    "DEFAULT_RULE",
    "KNOWN_POLICIES",
    "ORIGIN_KINDS",
    "ROLES",
    "SIZE_DISTRIBUTIONS",
    "CacheRule",
    "Cost",
    "EdgeSettings",
    "FlashCrowd",
    "Location",
    "Network",
    "Node",
    "QueryVariant",
    "SizeDistribution",
    "Topology",
    "UserRegion",
    "Users",
    "Workload",
    "WorkloadPath",
    "default_topology_path",
    "load_topology",
    "parse_topology",
    "rule_for",
    "rule_headers",
    "surrogate_keys",
]
