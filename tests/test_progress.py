"""The one progress type: measure and search report to it; commands pick a bar or silence."""

from __future__ import annotations

from costcompare.progress import NoProgress, Progress, RichProgress, progress_bar, side_bar


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def start(self, description: str, total: float | None = None) -> None:
        self.events.append(("start", description, total))

    def advance(self, amount: float = 1) -> None:
        self.events.append(("advance", amount))


def test_any_object_with_start_and_advance_is_a_progress(tmp_path):
    from costcompare.measure.local import measure_local

    (tmp_path / "i-1-abc.log").write_bytes(b"$ id\nuid=0(root)\n" * 50)
    seen: Progress = Recorder()
    measure_local(tmp_path, progress=seen, days=1)
    assert seen.events[0][0] == "start"
    assert sum(e[1] for e in seen.events if e[0] == "advance") > 0


def test_progress_bar_is_silence_or_a_transient_bar():
    with progress_bar(False) as quiet:
        assert isinstance(quiet, NoProgress)
        quiet.start("x", 3)
        quiet.advance()
    with progress_bar(True) as bar:
        assert isinstance(bar, RichProgress)
        bar.start("phase 1", 2)
        bar.advance(2)
        bar.start("phase 2")
        bar.advance()


def test_side_bars_beside_the_main_bar_or_nowhere():
    with progress_bar(True) as bar:
        bar.start("accounts", 2)
        one = side_bar(bar, "account 1", None)
        one.start("account 1: 2 regions", 2)
        one.advance()
        assert bar._bar.tasks[-1].completed == 1 and bar._bar.tasks[-1].total == 2
        one.close()
        one.close()  # twice is harmless
        assert len(bar._bar.tasks) == 1
    quiet = side_bar(NoProgress(), "account 2")
    quiet.start("x", 1)
    quiet.advance()
    quiet.close()
