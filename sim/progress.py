"""The rich progress bar of a simulation: simulated time (or requests) and requests per second.

Rules: progress goes to stderr and never into a report; ``quiet`` gives a no-op bar for tests.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)


class SimProgress:
    """A progress bar over ``total`` units (requests, or simulated seconds) with a req/s readout."""

    def __init__(self, description: str, total: float, unit: str, quiet: bool = False) -> None:
        self.quiet = quiet
        self.total = total
        self.unit = unit
        self._started = time.perf_counter()  # wall time only for the req/s readout, not reports
        self._progress: Progress | None = None
        self._task = None
        self._description = description

    def __enter__(self) -> SimProgress:
        if not self.quiet:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                MofNCompleteColumn()
                if self.unit == "requests"
                else TextColumn("{task.fields[sim]}"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                self._description, total=self.total, sim="", rate=""
            )
        return self

    def update(self, done: float, requests: int, sim_seconds: float | None = None) -> None:
        """Show ``done`` units finished, ``requests`` simulated and the simulated clock."""
        if self._progress is None:
            return
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        if self.unit == "seconds":
            sim = f"sim {done:,.0f}/{self.total:,.0f} s"
        else:
            sim = f"sim {sim_seconds:,.1f} s" if sim_seconds is not None else ""
        self._progress.update(
            self._task,
            completed=min(done, self.total),
            sim=sim,
            rate=f"{requests / elapsed:,.0f} req/s",
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(kind, value, traceback)
