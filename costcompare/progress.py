"""The one progress type: long work (measure, search) reports to it; the CLI draws a bar.

Library functions take any ``Progress`` and default to ``NoProgress``; commands pass
``progress_bar(show)``, a transient rich bar on stderr when shown, silence otherwise. Work done
in parallel (``measure --org``: the accounts in flight) may add a ``side_bar`` each under it.
"""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    """What a source reports while it works; the CLI draws a bar, tests pass nothing."""

    def start(self, description: str, total: float | None = None) -> None: ...

    def advance(self, amount: float = 1) -> None: ...


class NoProgress:
    """Reports to nobody (also a context manager, so a command can use it for a bar)."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def start(self, description: str, total: float | None = None) -> None:
        pass

    def advance(self, amount: float = 1) -> None:
        pass


class RichProgress:
    """A transient progress bar on stderr (one task per phase)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar

        self._bar = Bar(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, description: str, total: float | None = None) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(description, total=total)

    def advance(self, amount: float = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, amount)

    def side_bar(self, description: str, total: float | None = None) -> SideBar:
        """A bar of its own under the phase's bar, until closed (thread-safe: rich locks)."""
        return SideBar(self._bar, self._bar.add_task(description, total=total))


class SideBar:
    """One parallel piece of work's bar (an account being measured), itself a ``Progress``;
    ``close`` removes it. Made without a bar, it reports to nobody."""

    def __init__(self, bar: Any = None, task: Any = None) -> None:
        self._bar, self._task = bar, task

    def start(self, description: str, total: float | None = None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=description, total=total, completed=0)

    def advance(self, amount: float = 1) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, amount)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.remove_task(self._task)
            self._bar = None


def side_bar(progress: Progress, description: str, total: float | None = None) -> SideBar:
    """``progress``'s own side bar when it draws them (RichProgress, or any object with a
    ``side_bar`` method); otherwise one that reports to nobody."""
    make = getattr(progress, "side_bar", None)
    return make(description, total) if make is not None else SideBar()


def progress_bar(show: bool) -> RichProgress | NoProgress:
    """A bar on stderr when ``show`` (commands: --progress, or stderr is a terminal)."""
    return RichProgress() if show else NoProgress()
