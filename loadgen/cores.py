"""How many load processes ``--processes auto`` starts: the cores the target does not need.

Rules:
- The cores usable here are ``os.sched_getaffinity(0)`` (what this process may run on).
- A target on this machine (a loopback or local address) needs one core per server worker process
  listening on its port (each is a single-threaded event loop: nginx workers, aiohttp edges, the
  origin). Workers are found through /proc (Linux): the processes holding the listening socket,
  not counting a master whose child holds it too (nginx's master only accepts on behalf of its
  workers). Where /proc cannot tell, a local target is assumed to need one core.
- In topology mode every node of the topology on this machine counts (edges, shields, origin):
  the load reaches them all.
- At least one load process; the choice and its reason are stated.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LISTEN_STATE = "0A"


@dataclass(frozen=True, slots=True)
class ProcessChoice:
    """How many load processes to run, and why (a sentence for the user)."""

    count: int
    reason: str


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def is_local(host: str) -> bool:
    """True for loopback, unspecified and this machine's own names and addresses."""
    if host in ("localhost", socket.gethostname(), socket.getfqdn()):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            address = ipaddress.ip_address(socket.gethostbyname(host))
        except OSError:
            return False
    if address.is_loopback or address.is_unspecified:
        return True
    try:
        own = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        own = set()
    return str(address) in own


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for name in ("net/tcp", "net/tcp6"):
        try:
            lines = (proc / name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN_STATE:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def _parent(pid: str, proc: Path) -> str | None:
    try:
        stat = (proc / pid / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[1]


def server_workers(port: int, proc: Path = Path("/proc")) -> int | None:
    """Worker processes listening on ``port`` here (None when /proc cannot tell)."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    holders: set[str] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in wanted:
                    holders.add(entry.name)
                    break
            except OSError:
                continue
    if not holders:
        return None
    masters = {_parent(pid, proc) for pid in holders} & holders
    return max(len(holders - masters), 1)


def target_cores(urls: Iterable[str]) -> tuple[int, list[str]]:
    """Cores the local servers behind ``urls`` need, and a phrase per local server."""
    need = 0
    seen: set[int] = set()
    notes: list[str] = []
    for url in urls:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if port in seen or not is_local(host):
            continue
        seen.add(port)
        workers = server_workers(port)
        count = 1 if workers is None else workers
        need += count
        notes.append(f"{host}:{port} ({count} worker{'s' if count != 1 else ''})")
    return need, notes


def choose_processes(urls: Iterable[str], cores: int | None = None) -> ProcessChoice:
    """``--processes auto``: usable cores minus those the local targets need, at least one."""
    cores = usable_cores() if cores is None else cores
    need, notes = target_cores(urls)
    count = max(1, cores - need)
    if not notes:
        reason = f"{cores} cores, the targets are not on this machine"
    else:
        reason = f"{cores} cores, {need} kept for the target on this machine: " + ", ".join(notes)
    return ProcessChoice(count, reason)
