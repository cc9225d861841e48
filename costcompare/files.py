"""Files users hand over and files the tool writes: read safely, checked before any work,
written whole or not at all.

``read_json`` reads a JSON file a user gives (a saved estimate, search or plan): every way it can
be wrong — missing, a folder, not UTF-8, not JSON, nested too deeply for the parser — is one
line naming the file and the fix. (YAML has its own reader, ``costcompare.yamlio``.)

Every file the tool writes (``--out``, ``--report``, ``--write-profile``, a refreshed price table,
chart images) goes through here, so they all behave like a careful editor's save:

- the target is checked up front (``check_output_file`` / ``check_output_folder``), so a bad
  ``--report`` fails before the charts are drawn, not after they were overwritten;
- the content goes to a temporary file in the target's folder, which then replaces the target in
  one rename: a crash or a full disk never leaves a half-written file;
- a symlink is written through to its target (the link stays a link), and a FIFO, device or
  socket is refused rather than replaced;
- an existing file keeps its mode; a new file gets 0666 minus the umask, like any other program's
  output (temporary files start at 0600, which is why this is explicit).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from costcompare.errors import CostCompareError, OutputError

_KINDS = {
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def _umask() -> int:
    """The process umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _non_regular_kind(mode: int) -> str | None:
    return next((kind for test, kind in _KINDS.items() if test(mode)), None)


def check_output_file(path: str | Path, option: str = "--out") -> Path:
    """The real path a file output will be written to, or a one-line error naming ``option``.

    Checked: not a folder, not a FIFO/device/socket, its folder exists and is writable, and an
    existing file is writable. Symlinks are followed: the returned path is the link's target.
    """
    given = Path(path)
    target = Path(os.path.realpath(given))
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"{option} {given}: {exc.strerror}", f"pick another {option}") from None
    if info is not None:
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{option} {given} is a folder", f"give a file name to {option}")
        kind = _non_regular_kind(info.st_mode)
        if kind:
            raise OutputError(
                f"{option} {given} is {kind}, not a regular file",
                f"give {option} a regular file's path",
            )
        if not os.access(target, os.W_OK):
            raise OutputError(
                f"{option} {given} is read-only", f"make it writable or pick another {option}"
            )
    folder = target.parent
    if not folder.is_dir():
        shown = folder if given.is_symlink() else given.parent  # a link: where it points
        raise OutputError(
            f"{option} {given}: folder {shown} does not exist",
            f"create it first or pick another {option}",
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(
            f"{option} {given}: folder {folder} is not writable", f"pick another {option}"
        )
    return target


def check_output_folder(path: str | Path, option: str = "--out") -> Path:
    """A folder outputs will be written into: an existing writable folder, or one that can be
    created (its nearest existing ancestor is a writable folder, and no file is in the way)."""
    folder = Path(path)
    probe = folder
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        what = "is a file" if probe == folder else f"is inside {probe}, which is a file"
        raise OutputError(f"{option} {folder} {what}", f"give {option} a folder")
    if not probe.exists():
        raise OutputError(f"{option} {folder}: {probe} is a broken link", f"pick another {option}")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == folder else f" ({probe} is where it would be created)"
        raise OutputError(
            f"{option} {folder} is not writable{where}", f"pick a writable folder for {option}"
        )
    return folder


def make_output_folder(path: str | Path, option: str = "--out") -> Path:
    """Create a checked output folder (and its parents); a one-line error if that fails."""
    folder = check_output_folder(path, option)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create {option} {folder}: {exc.strerror}", f"pick another {option}"
        ) from None
    return folder


@contextlib.contextmanager
def atomic_path(path: str | Path, option: str = "--out") -> Iterator[Path]:
    """Yield a temporary path beside the target; on success it replaces the target atomically.

    For writers that want a path (``savefig``); ``write_atomic`` is the text/bytes shortcut.
    On any error the temporary file is removed and the target is left exactly as it was.
    """
    target = check_output_file(path, option)
    try:
        existing = target.stat()
    except FileNotFoundError:
        existing = None
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(
            f"cannot write in {target.parent}: {exc.strerror}", f"pick a writable {option}"
        ) from None
    tmp = Path(tmp_name)
    try:
        os.close(fd)
        yield tmp
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            with contextlib.suppress(OSError):  # only root may give a file to someone else
                if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
                    os.chown(tmp, existing.st_uid, existing.st_gid)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {option} {path}: {exc.strerror or exc}", f"pick a writable {option}"
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, content: str | bytes, option: str = "--out") -> None:
    """Write ``content`` (text as UTF-8) to ``path`` whole or not at all; see the module doc."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_path(path, option) as tmp, tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def read_json(path: str | Path, *, what: str, error: type[CostCompareError], fix: str) -> Any:
    """The parsed JSON document at ``path``, or ``error`` (one line: ``what path`` and ``fix``)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} {file} does not exist", fix) from None
    except IsADirectoryError:
        raise error(f"{what} {file} is a folder", fix) from None
    except OSError as exc:
        raise error(f"cannot read {what} {file}: {exc.strerror or exc}", fix) from None
    except UnicodeDecodeError as exc:
        raise error(f"{what} {file} is not UTF-8 text (offset {exc.start})", fix) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{what} {file} is not JSON (line {exc.lineno} column {exc.colno}: {exc.msg})", fix
        ) from None
    except RecursionError:  # the C decoder recurses once per nested level
        raise error(f"{what} {file} is nested too deeply to be JSON it wrote", fix) from None
