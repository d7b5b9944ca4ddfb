"""Where reports go: checked before a run starts, and written so no file is ever half there.

A run costs minutes (a proxy boots, a matrix boots dozens), so a report folder that cannot be
written is found out first (`check_folder`, `check_file`): a read-only file system, a folder
without write permission, a full disk, or a path that is (or goes through) an existing file.
A write that fails anyway (the disk fills up while writing) must not leave a truncated
report.html or results.json behind that a reader or CI would take for the real thing:
`write_text` writes to a temporary name in the same folder and renames it into place.

Every problem is an `OutputError` whose message names the path and says why in words.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

#: Below this much free space the disk counts as full: a run's documents need more than this.
MIN_FREE_BYTES = 1024 * 1024


class OutputError(Exception):
    """A report folder or file that cannot be written; the message names it and says why.

    `written`: files of the same batch that were written whole before this one failed.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.written: list[Path] = []


# errno → (about a named place, about the file just named in the message)
_REASONS = {
    errno.EROFS: ("{where} is on a read-only file system", "the file system is read-only"),
    errno.EACCES: ("no permission to write in {where}", "permission denied"),
    errno.EPERM: ("no permission to write in {where}", "permission denied"),
    errno.ENOSPC: ("no space left on the disk holding {where}", "no space left on the disk"),
    errno.EDQUOT: ("the disk quota for {where} is used up", "the disk quota is used up"),
    errno.ENOTDIR: ("{where} is a file, not a folder", "a folder on its path is a file"),
    errno.EEXIST: ("{where} exists and is not a folder", "it exists and is not a folder"),
    errno.EISDIR: ("{where} is a folder, not a file", "it is a folder, not a file"),
    errno.ENOENT: ("{where} does not exist", "a folder on its path does not exist"),
    errno.ENAMETOOLONG: ("{where}: the name is too long", "the name is too long"),
}


def why_not(exc: OSError, where: Path | str | None = None) -> str:
    """`exc` in words: about `where` if given, else about the file the message already names."""
    about_place, about_file = _REASONS.get(exc.errno or 0, ("{where}: {error}", "{error}"))
    template = about_place if where is not None else about_file
    return template.format(where=where, error=(exc.strerror or str(exc)).lower())


def _nearest_existing(path: Path) -> Path:
    """`path` itself if it exists, else its nearest ancestor that does."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def check_folder(folder: str | Path) -> None:
    """Raise `OutputError` unless files can be written into `folder` (created later if missing).

    Writes and removes one empty probe file in the folder, or in its nearest existing
    ancestor, so a read-only mount or missing permission is caught for root too (for whom
    permission bits never say no); leaves nothing behind and creates no folder.
    """
    folder = Path(folder)
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        if existing == folder:
            raise OutputError(f"cannot write reports into {folder}: it is an existing file, not a folder")
        raise OutputError(f"cannot write reports into {folder}: {existing} is a file, not a folder")
    probe = existing / f".gateconform-write-check-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\n")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        where = existing if existing != folder else None  # else the message names it already
        why = why_not(exc, where)
        if exc.errno == errno.ENOENT:  # it exists, yet refuses new files (/proc, a pseudo file system)
            why = f"no files can be created in {existing}"
        raise OutputError(f"cannot write reports into {folder}: {why}") from None
    free = _free_bytes(existing)
    if free is not None and free < MIN_FREE_BYTES:
        raise OutputError(f"cannot write reports into {folder}: the disk is full ({free // 1024} KiB free)")


def check_file(path: str | Path) -> None:
    """Raise `OutputError` unless a file can be written at `path` (its folder as in `check_folder`)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder, not a file")
    check_folder(path.parent)


def _free_bytes(folder: Path) -> int | None:
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs (Windows) or a file system that cannot say
        return None
    # root may use the blocks reserved for it, everyone else only the available ones
    blocks = stats.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else stats.f_bavail
    return blocks * stats.f_frsize


def make_folder(folder: str | Path) -> Path:
    """Create `folder` (and its parents) if missing; `OutputError` if it cannot be."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"could not create {folder}: {why_not(exc, exc.filename or folder)}") from None
    return folder


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` as UTF-8 with `\\n` line ends (parents created); returns `path`.

    All or nothing, as `write_bytes`. Failures raise `OutputError`.
    """
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` (parents created); returns `path`.

    All or nothing: the data goes to a temporary file next to `path` that is renamed over it
    once complete, so a failure (a full disk, Ctrl-C) leaves the old file or none, never a
    truncated one, and a reader sees one or the other; the temporary file is removed. Failures
    raise `OutputError`.
    """
    path = Path(path)
    make_folder(path.parent)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        # 0o666 and the umask, as for any file the user creates (mkstemp would make it 0600)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with open(fd, "wb") as handle:
                handle.write(data)
            os.replace(partial, path)
        except BaseException:
            try:
                os.unlink(partial)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise OutputError(f"could not write {path}: {why_not(exc)}") from None
    return path


def folder_size(root: Path) -> tuple[int, int]:
    """(bytes used by the files under `root`, bytes of those not hard-linked elsewhere).

    Symlinks are not followed; a file hard-linked twice inside `root` is counted once.
    """
    total = own = 0
    seen: set[tuple[int, int]] = set()
    for directory, _dirs, files in os.walk(root):
        for name in files:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            key = (info.st_dev, info.st_ino)
            if key in seen:
                continue
            seen.add(key)
            size = info.st_blocks * 512
            total += size
            if info.st_nlink == 1:
                own += size
    return total, own
