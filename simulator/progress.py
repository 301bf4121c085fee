"""Progress of `simulator generate` on stderr: one bar per phase (agents, truth, signalling
and capture by simulated hour, operator truth, reference files), drawn with rich only when stderr is a terminal and not `--quiet`.

`Progress` is the silent default every phase calls into; `bar()` picks the one to use.
"""

from __future__ import annotations

import sys


class Progress:
    """No output: the phases of a run, for callers that do not want a bar (tests, pipes)."""

    def phase(self, name: str, total: int | None = None) -> None:
        """A new phase of `total` steps (None: one step, done when the next phase starts)."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more steps of the current phase are done."""

    def close(self) -> None:
        """The run is over (the bar stays on screen, complete)."""


class RichProgress(Progress):
    """A rich progress display on stderr, one line per phase, with elapsed time."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = Bars(TextColumn("{task.description:<22}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn(),
                          console=Console(stderr=True), transient=False)
        self._bars.start()
        self._task = None

    def phase(self, name: str, total: int | None = None) -> None:
        self._finish()
        self._task = self._bars.add_task(name, total=total if total is not None else 1)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._bars.advance(self._task, steps)

    def _finish(self) -> None:
        if self._task is not None:
            task = self._bars.tasks[-1]
            self._bars.update(self._task, completed=task.total)

    def close(self) -> None:
        self._finish()
        self._task = None
        self._bars.stop()


def bar(quiet: bool = False) -> Progress:
    """A rich bar on stderr when it is a terminal and not `quiet`, else the silent one."""
    if quiet or not sys.stderr.isatty():
        return Progress()
    return RichProgress()
