"""`Cluster`: start a topology's origin, shields and edges as local processes, and stop them.

Use it as a context manager::

    with Cluster("configs/local.toml") as cluster:
        cluster.urls["edge-par"]      # "http://127.0.0.1:8121"
        cluster.token                 # admin token every node was started with
    # every node stopped, ports free, run-state file removed

Start order: ports are all checked first (a busy port raises PortInUseError and nothing is
started), then origin, shields, edges, each tier waited on until every node answers
/_cdn/health. A failure at any point stops what was started before the error is raised.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from cdn.topology import Node, Topology, load_topology
from cluster import prometheus as prom
from cluster.errors import ClusterError, NodeStartError
from cluster.health import wait_healthy
from cluster.plan import ADMIN_TOKEN_ENV, NodeLaunch, plan_launches
from cluster.ports import check_ports, free_port
from cluster.state import (
    NodeState,
    RunState,
    read_state,
    remove_state,
    state_path,
    write_state,
)
from cluster.supervisor import (
    STOP_SIGNALS,
    ChildProcess,
    LogSink,
    child_environment,
    stop_groups,
    stop_processes,
)

PROMETHEUS_NAME = "prometheus"


class Cluster:
    """A running (or ready to run) local cluster of one topology file.

    ``prometheus``: True starts Prometheus (ClusterError if the binary is missing), None starts
    it when the binary is installed, False never. ``state_dir``: where the run-state file goes
    (default $CDNLAB_STATE_DIR or ./.cdnlab/run); ``write_state=False`` writes none.
    ``log_sink(name, line)`` receives every output line of every process (from pump threads);
    ``announce(message)`` hears about progress ("starting shield-fra", "edge-par is healthy").
    """

    def __init__(
        self,
        topology_file: str | Path,
        *,
        token: str | None = None,
        prometheus: bool | None = False,
        prometheus_binary: str = prom.PROMETHEUS_BINARY,
        scrape_interval: float = 5.0,
        state_dir: str | Path | None = None,
        write_state: bool = True,
        log_sink: LogSink | None = None,
        health_timeout: float = 30.0,
        stop_grace: float = 15.0,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.topology_file = Path(topology_file)
        self.topology: Topology = load_topology(self.topology_file)
        self.token: str = token or os.environ.get(ADMIN_TOKEN_ENV) or secrets.token_urlsafe(24)
        self.launches: tuple[tuple[NodeLaunch, ...], ...] = plan_launches(
            self.topology, self.topology_file, python
        )
        self._prometheus_wanted = prometheus
        self._prometheus_binary = prometheus_binary
        self._scrape_interval = scrape_interval
        self.state_path: Path | None = (
            state_path(self.topology.name, state_dir) if write_state else None
        )
        self._log_sink = log_sink
        self._health_timeout = health_timeout
        self._stop_grace = stop_grace
        self._env = dict(env or {})
        self._announce = announce or (lambda message: None)
        self.children: dict[str, ChildProcess] = {}
        self.prometheus_url: str | None = None
        self._prometheus_dir: str | None = None
        self._reported_exits: set[str] = set()

    # ------------------------------------------------------------------ facts

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every node of the topology, origin first."""
        return self.topology.nodes

    @property
    def urls(self) -> dict[str, str]:
        """Base URL of each node by name."""
        return {node.name: node.url for node in self.topology.nodes}

    @property
    def pids(self) -> dict[str, int]:
        """Pid (and process group id) of each started process by name, Prometheus included."""
        return {name: child.pid for name, child in self.children.items()}

    def logs(self, name: str, count: int = 40) -> list[str]:
        """The last ``count`` output lines of process ``name``."""
        return self.children[name].last_lines(count)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Check ports, start every tier and wait until healthy, then publish the run state."""
        if self.children:
            raise ClusterError("the cluster is already started")
        binary = self._prometheus_path()
        check_ports(self.topology.nodes)
        try:
            env = child_environment({**self._env, ADMIN_TOKEN_ENV: self.token})
            for tier in self.launches:
                self._announce("starting " + ", ".join(launch.name for launch in tier))
                started = [self._spawn(launch.name, launch.argv, env) for launch in tier]
                for launch, child in zip(tier, started, strict=True):
                    wait_healthy(child, launch.health_url, self._health_timeout)
                    self._announce(f"{launch.name} is healthy at {launch.url}")
            if binary is not None:
                self._announce("starting prometheus")
                self._start_prometheus(binary)
                self._announce(f"prometheus is ready at {self.prometheus_url}")
            if self.state_path is not None:
                write_state(self.run_state(), self.state_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process, edges first, then shields, then the origin, and tidy up.

        Each tier gets SIGTERM (its nodes drain: in-flight requests finish, peers are told)
        and up to the grace period before SIGKILL; the next tier is stopped only once the one
        in front of it has exited, so no draining edge loses its upstream mid-request.
        """
        tiers = [[launch.name for launch in tier] for tier in self.launches]
        tiers.append([PROMETHEUS_NAME])
        respawned = self._respawned()
        for names in reversed(tiers):
            children = [self.children[name] for name in names if name in self.children]
            if children:
                stop_processes(children, self._stop_grace)
            pids = [respawned[name] for name in names if name in respawned]
            if pids:
                stop_groups(pids, self._stop_grace)
        if self.state_path is not None:
            remove_state(self.state_path)
        if self._prometheus_dir is not None:
            shutil.rmtree(self._prometheus_dir, ignore_errors=True)
            self._prometheus_dir = None

    def _respawned(self) -> dict[str, int]:
        """Nodes started again by someone else (a ``restart`` fault): their pids in the
        run-state file differ from our children's."""
        state = read_state(self.state_path) if self.state_path is not None else None
        if state is None:
            return {}
        return {
            node.name: node.pid
            for node in state.nodes
            if node.name in self.children and node.pid != self.children[node.name].pid
        }

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to node ``name``'s process group (to test failures); not reported."""
        child = self.children[name]
        child.expected_exit = True
        child.signal_group(signum)

    def exited(self) -> list[tuple[str, int]]:
        """Processes that died on their own since the last call: (name, exit status)."""
        dead = []
        for name, child in self.children.items():
            code = child.returncode()
            if code is not None and not child.expected_exit and name not in self._reported_exits:
                self._reported_exits.add(name)
                dead.append((name, code))
        return dead

    def run_state(self) -> RunState:
        """What the run-state file says about this cluster."""
        nodes = tuple(
            NodeState(node.name, node.role, node.url, self.children[node.name].pid)
            for node in self.topology.nodes
            if node.name in self.children
        )
        return RunState(
            topology=self.topology.name,
            topology_file=str(self.topology_file.resolve()),
            launcher_pid=os.getpid(),
            token=self.token,
            nodes=nodes,
            prometheus_url=self.prometheus_url,
        )

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _spawn(self, name: str, argv: tuple[str, ...], env: Mapping[str, str]) -> ChildProcess:
        # Stop signals wait until the child is registered, so a Ctrl-C between fork and
        # bookkeeping cannot leave a process nobody stops (the child unblocks them itself).
        main = threading.current_thread() is threading.main_thread()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS) if main else None
        try:
            child = ChildProcess(name, argv, env, self._log_sink)
            self.children[name] = child
        except OSError as exc:
            raise NodeStartError(name, f"could not be started ({argv[0]}: {exc})", []) from None
        finally:
            if previous is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return child

    def _prometheus_path(self) -> str | None:
        if self._prometheus_wanted is False:
            return None
        found = prom.find_prometheus(self._prometheus_binary)
        if found is None and self._prometheus_wanted:
            raise ClusterError(
                f"--prometheus was asked for but {self._prometheus_binary!r} is not on PATH "
                "(Debian/Ubuntu: apt-get install prometheus), or run without --prometheus"
            )
        return found

    def _start_prometheus(self, binary: str) -> None:
        self._prometheus_dir = tempfile.mkdtemp(prefix="cdnlab-prometheus-")
        config = Path(self._prometheus_dir) / "prometheus.yml"
        config.write_text(
            prom.render_scrape_config(
                self.topology,
                scrape_interval=self._scrape_interval,
                header=f"Generated by `cdn up` for {self.topology_file}.",
            ),
            encoding="utf-8",
        )
        host = "127.0.0.1"
        port = free_port(host)
        data = Path(self._prometheus_dir) / "data"
        argv = prom.prometheus_argv(binary, str(config), str(data), host, port)
        child = self._spawn(PROMETHEUS_NAME, argv, child_environment({}))
        url = f"http://{host}:{port}"
        wait_healthy(child, url + "/-/ready", self._health_timeout)
        self.prometheus_url = url
