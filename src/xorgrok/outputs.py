"""Output that is complete or absent: written into a staging folder, then swapped in.

:func:`staged_folder` gives a fresh folder beside the requested one (same file system,
hidden name ``.<name>.xorgrok-stage-<pid>-<random>``). When the block ends normally, the
staged files replace the folder's in one step: on Linux the two folders are exchanged
atomically (``renameat2`` with ``RENAME_EXCHANGE``), elsewhere by two renames; files of
the old folder that the command does not write are carried over (hard links). When the
block raises (an error, Ctrl-C, SIGTERM turned into an exception), the staging folder is
removed and the old folder is untouched. A staging folder left by a process killed with
SIGKILL is removed by the next command writing beside it.

:func:`atomic_file` does the same for one file. Errors name the user's path, never a
temporary one.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = [
    "OutputError",
    "staged_folder",
    "atomic_file",
    "check_writable_folder",
    "check_writable_file",
]

_STAGE = ".xorgrok-stage-"
_RENAME_EXCHANGE = 2


class OutputError(OSError):
    """An output could not be written; the message names the user's path."""


def _fail(path: Path, err: OSError) -> OutputError:
    reason = err.strerror or str(err)
    out = OutputError(err.errno, f"cannot write {os.fspath(path)!r}: {reason}")
    out.filename = os.fspath(path)
    return out


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(parent: Path, name: str) -> None:
    """Remove staging folders of ``name`` whose process no longer runs (SIGKILL)."""
    prefix = f".{name}{_STAGE}"
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix) :].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def check_writable_folder(path: str | os.PathLike) -> Path:
    """``path`` as a Path after checking it can become an output folder: a non-empty
    name, not a file, its nearest existing ancestor writable. ``OutputError`` (naming
    ``path``) otherwise."""
    if os.fspath(path) == "":
        raise OutputError(errno.EINVAL, "cannot write '': the folder name is empty")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(
            errno.ENOTDIR,
            f"cannot write {os.fspath(path)!r}: it is a file, not a folder",
        )
    parent = path.resolve().parent
    while not parent.exists():
        parent = parent.parent
    _check_access(path, parent)
    return path


def _check_access(path: Path, parent: Path) -> None:
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(
            errno.EACCES,
            f"cannot write {os.fspath(path)!r}: {os.fspath(parent)!r} is not writable",
        )


def check_writable_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path after checking a file can be written there: not empty, not a
    folder, its folder exists and is writable."""
    if os.fspath(path) == "":
        raise OutputError(errno.EINVAL, "cannot write '': the file name is empty")
    path = Path(path)
    if path.is_dir():
        message = f"cannot write {os.fspath(path)!r}: it is a folder"
        raise OutputError(errno.EISDIR, message)
    parent = path.resolve().parent
    if not parent.is_dir():
        raise OutputError(
            errno.ENOENT,
            f"cannot write {os.fspath(path)!r}: {os.fspath(parent)!r} does not exist",
        )
    _check_access(path, parent)
    return path


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    result = renameat2(
        at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(b))


def _carry_over(old: Path, stage: Path) -> None:
    """Hard-link (or copy) into ``stage`` the entries of ``old`` not written anew."""
    for entry in old.iterdir():
        target = stage / entry.name
        if target.exists() or target.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


def _link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _commit(stage: Path, final: Path) -> None:
    if not final.exists():
        os.rename(stage, final)
        return
    if final == Path.cwd() or final in Path.cwd().parents:
        # The current folder cannot be swapped (the process's folder would move with
        # it): move the files one by one, each atomically (only this short loop is not
        # atomic as a set).
        for entry in stage.iterdir():
            os.replace(entry, final / entry.name)
        stage.rmdir()
        return
    shutil.copymode(final, stage)
    _carry_over(final, stage)
    if _exchange(stage, final):
        shutil.rmtree(stage)  # now the old folder
        return
    old = stage.with_name(stage.name + "-old")
    os.rename(final, old)
    try:
        os.rename(stage, final)
    except BaseException:
        os.rename(old, final)
        raise
    shutil.rmtree(old)


@contextmanager
def staged_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty staging folder; on success its files become ``path``'s (see the
    module docstring).

    When ``path`` is the current folder or one of its ancestors, the staged files are
    moved in one by one (each atomically) instead of swapping the folder. On any
    exception the staging folder is removed and ``path`` is left as it was.
    """
    final = check_writable_folder(path)
    absolute = final.resolve()
    parent = absolute.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(parent, absolute.name)
        prefix = f".{absolute.name}{_STAGE}{os.getpid()}-"
        stage = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        _chmod_default(stage, 0o777)
    except OSError as err:
        raise _fail(final, err) from None
    try:
        yield stage
        _commit(stage, absolute)
    except OSError as err:
        shutil.rmtree(stage, ignore_errors=True)
        raise _fail(final, err) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _chmod_default(path: str | os.PathLike, mode: int) -> None:
    """Give ``path`` the permissions a plain create would (``mode`` less the umask):
    ``tempfile`` makes its files and folders private."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``
    (atomic), on any exception it is removed and ``path`` is left as it was.
    ``OutputError`` names ``path``."""
    final = check_writable_file(path)
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{final.name}{_STAGE}{os.getpid()}-", dir=final.resolve().parent
        )
        os.close(fd)
        _chmod_default(tmp, 0o666)
    except OSError as err:
        raise _fail(final, err) from None
    try:
        yield Path(tmp)
        os.replace(tmp, final)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _fail(final, err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
