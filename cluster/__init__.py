"""The local multi-node cluster: `cdn up` (launcher), `cdn compose` (docker-compose render), `cdn purge`.

Modules, one job each: ``plan`` (which processes a topology needs), ``ports`` (free/busy ports),
``supervisor`` (child processes in their own process groups, log pumps, clean stop), ``health``
(waiting for /_cdn/health), ``state`` (the run-state file other commands read), ``prometheus``
(scrape config and the optional Prometheus server), ``launcher`` (the ``Cluster`` API tying them
together), ``relocate`` (a copy of a topology on free ports), ``purge`` (cluster-wide purge fan-out),
``yamltext`` and ``compose`` (docker-compose.yml rendering without a YAML dependency).
"""

from cluster.errors import ClusterError, NodeStartError, PortInUseError
from cluster.launcher import Cluster

__all__ = ["Cluster", "ClusterError", "NodeStartError", "PortInUseError"]
