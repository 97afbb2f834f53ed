"""--processes auto: the cores the target does not need, and a sentence saying so."""

from __future__ import annotations

import os
from pathlib import Path

from load_apps import cache_app

from loadgen.cores import choose_processes, server_workers


def test_a_target_elsewhere_leaves_every_core_to_the_load() -> None:
    choice = choose_processes(["http://203.0.113.7:8080"], cores=4)
    assert choice.count == 4
    assert "not on this machine" in choice.reason


def test_a_local_target_keeps_a_core_per_server_worker(serve) -> None:
    served = serve(cache_app())  # served by this (pytest) process: one worker
    choice = choose_processes([served.url], cores=4)
    assert choice.count == 3
    assert f"127.0.0.1:{served.port} (1 worker)" in choice.reason


def test_at_least_one_process_runs(serve) -> None:
    served = serve(cache_app())
    assert choose_processes([served.url], cores=1).count == 1


def _fake_proc(tmp_path: Path, port: int, holders: dict[int, int]) -> Path:
    """A /proc with one listening socket on ``port`` held by ``holders`` {pid: parent pid}."""
    (tmp_path / "net").mkdir()
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    row = f"   0: 0100007F:{port:04X} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n"
    (tmp_path / "net" / "tcp").write_text(header + row)
    for pid, parent in holders.items():
        fd = tmp_path / str(pid) / "fd"
        fd.mkdir(parents=True)
        os.symlink("socket:[4242]", fd / "3")
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (nginx) S {parent} 1 1 0")
    return tmp_path


def test_a_master_whose_workers_hold_its_socket_is_not_counted(tmp_path) -> None:
    proc = _fake_proc(tmp_path, 8080, {100: 1, 101: 100, 102: 100})
    assert server_workers(8080, proc) == 2


def test_a_port_nobody_listens_on_is_unknown(tmp_path) -> None:
    proc = _fake_proc(tmp_path, 8080, {100: 1})
    assert server_workers(8081, proc) is None
