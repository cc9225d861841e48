"""Output files: checked first, written whole, through symlinks, with the modes users expect."""

from __future__ import annotations

import os
import stat

import pytest

from costcompare.errors import OutputError
from costcompare.files import atomic_path, check_output_folder, read_json, write_atomic

needs_non_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes read-only files anyway"
)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_writes_and_replaces_leaving_no_temporary_file(tmp_path):
    target = tmp_path / "out.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_bytes_are_written_as_they_are(tmp_path):
    write_atomic(tmp_path / "a.png", b"\x89PNG\r\n")
    assert (tmp_path / "a.png").read_bytes() == b"\x89PNG\r\n"


def test_text_is_utf8_with_newlines_untranslated(tmp_path):
    write_atomic(tmp_path / "a.csv", "¥1\r\n")
    assert (tmp_path / "a.csv").read_bytes() == "¥1\r\n".encode()


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_a_new_file_honours_the_umask_not_0600(tmp_path, umask):
    """Issue 12.7: mkstemp's 0600 leaked into every --out, --report and --write-profile."""
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "out.txt") == 0o666 & ~umask


def test_an_existing_file_keeps_its_mode(tmp_path, umask_022):
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o640


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path, umask_022):
    """Issue 18.10: the link itself used to be replaced by a regular file."""
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "report.md"
    real.write_text("old")
    real.chmod(0o644)
    link = tmp_path / "report.md"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new" and mode(real) == 0o644
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["report.md"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "target.txt")
    write_atomic(link, "x")
    assert link.is_symlink() and (tmp_path / "target.txt").read_text() == "x"


def test_a_fifo_is_refused_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="is a FIFO"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_a_device_is_refused(tmp_path):
    with pytest.raises(OutputError, match="--out /dev/null is a character device"):
        write_atomic("/dev/null", "x")


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "out"
    link.symlink_to("/dev/null")
    with pytest.raises(OutputError, match="character device"):
        write_atomic(link, "x")
    assert link.is_symlink()


def test_a_link_into_a_missing_folder_names_that_folder(tmp_path):
    link = tmp_path / "out.txt"
    link.symlink_to(tmp_path / "gone" / "out.txt")
    with pytest.raises(OutputError, match=r"out.txt: folder .*gone does not exist"):
        write_atomic(link, "x")


def test_missing_folder_names_the_option(tmp_path):
    with pytest.raises(OutputError, match=r"--write-profile .*folder .* does not exist"):
        write_atomic(tmp_path / "no" / "out.yaml", "x", "--write-profile")


def test_folder_as_target(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        write_atomic(tmp_path, "x")


@needs_non_root
def test_a_read_only_file_is_refused_and_kept(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("keep")
    target.chmod(0o444)
    with pytest.raises(OutputError, match="read-only"):
        write_atomic(target, "x")
    assert target.read_text() == "keep"


def test_a_failing_writer_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "chart.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the renderer crashed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]


def test_output_folder_may_be_created_under_a_folder(tmp_path):
    assert check_output_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()  # checking creates nothing


@pytest.mark.parametrize(
    ("sub", "message"),
    [("file", "is a file"), ("file/charts", "is inside .*file, which is a file")],
)
def test_output_folder_refuses_a_file_in_the_way(tmp_path, sub, message):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=f"--out .*{message}"):
        check_output_folder(tmp_path / sub)


@needs_non_root
def test_output_folder_refuses_a_read_only_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="not writable"):
            check_output_folder(locked / "charts")
    finally:
        locked.chmod(0o755)


def deny_writes_to(monkeypatch, denied):
    """os.access as for a user without write permission on ``denied`` (tests also run as root)."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if os.fspath(path) == os.fspath(denied) and mode & os.W_OK:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_a_file_the_user_cannot_write_is_refused_before_any_work(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"
    target.write_text("keep")
    deny_writes_to(monkeypatch, target)
    with pytest.raises(OutputError, match=r"--report .*out.txt is read-only"):
        write_atomic(target, "x", "--report")
    assert target.read_text() == "keep"


def test_a_folder_the_user_cannot_write_is_refused(tmp_path, monkeypatch):
    deny_writes_to(monkeypatch, tmp_path)
    with pytest.raises(OutputError, match=r"--out-dir .*charts is not writable \(.* would be"):
        check_output_folder(tmp_path / "charts", "--out-dir")
    with pytest.raises(OutputError, match=r"folder .* is not writable"):
        write_atomic(tmp_path / "out.txt", "x")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "saved estimate .*e.json does not exist — fix it"),
        (b"\xff\xfe{}", r"is not UTF-8 text \(offset 0\)"),
        (b'{"a": 1,}', r"is not JSON \(line 1 column 9: Expecting property name"),
        (b'{"a": ' * 20_000 + b"1" + b"}" * 20_000, "is nested too deeply"),
    ],
    ids=["missing", "utf16", "syntax", "nested-20000"],
)
def test_read_json_is_one_line_for_every_way_a_file_is_wrong(tmp_path, content, message):
    path = tmp_path / "e.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(OutputError, match=message) as caught:
        read_json(path, what="saved estimate", error=OutputError, fix="fix it")
    assert "\n" not in str(caught.value)


def test_read_json_reads_json(tmp_path):
    (tmp_path / "e.json").write_text('{"a": [1, 2]}')
    assert read_json(tmp_path / "e.json", what="x", error=OutputError, fix="y") == {"a": [1, 2]}
