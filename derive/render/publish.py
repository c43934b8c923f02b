"""Publishing a build as one unit: a staging folder, an atomic swap, a lock (TeX with a timeout is in
`derive.render.tex`, the side worker in `derive.render.worker`).

The guarantees (README, "What a build promises"):

* **All or nothing.**  Everything a build writes, the PDFs included, goes to a
  staging folder *beside* ``--out`` (``.<name>.staging-XXXX``, same filesystem);
  TeX runs in its own working folder inside it (``.tex-work``), so its
  ``.fls``/``.aux``/half-written PDFs never touch ``--out``.  Only when every file
  is complete is the staging folder swapped in: one ``renameat2(RENAME_EXCHANGE)``
  on Linux, otherwise ``rename(out -> .<name>.old-XXXX)``, ``rename(staging -> out)``
  with SIGINT/SIGTERM blocked between the two.  A failure or a signal at any
  moment before that leaves the previous build exactly as it was; a SIGKILL
  between the two renames is repaired by the next build (the old folder is moved
  back).  Files a build no longer produces are gone after it.
* **One build per folder.**  ``.<name>.lock`` beside ``--out`` is held with
  ``flock`` for the whole build and removed at its end (the lock is released by
  the kernel when the process dies, so a file left by a SIGKILL is never a stale
  lock); a second build fails at once with
  "another derive build is writing DIR (pid N)".
* **Modes follow the umask** (files are created with ``open``, folders with
  ``mkdir``; the staging folder's private 0700 is widened to the umask's mode).
* **Nothing outlives the build.**  TeX runs in its own process group, killed as a
  group on timeout or interrupt and sent SIGKILL by the kernel if the build dies
  (``PR_SET_PDEATHSIG`` where Linux offers it); the forked side worker watches its
  parent (``getppid``) and exits when it is gone, and it writes its result to a
  file, never to a pipe that nobody reads.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from derive.errors import DeriveError, InvalidValue

from .tex import DEFAULT_TEX_TIMEOUT, TexError, allow_tex, first_error, run_tex, stop_tex, tex_tool  # noqa: F401 (re-exported)
from .worker import _LIBC, SideWorker, die_with_parent  # noqa: F401 (re-exported)

__all__ = ["OutputBusy", "PublishError", "TexError", "check_out", "Publication", "run_tex", "first_error",
           "SideWorker", "DEFAULT_TEX_TIMEOUT", "MARKER"]

MARKER = ".derive-build"  # written into every published build: the folder may be replaced as a whole
TEX_WORK = ".tex-work"
_VIRTUAL = ("/proc", "/sys", "/dev")


class OutputBusy(DeriveError):
    """Another build holds the output folder's lock."""


class PublishError(DeriveError):
    """The output could not be written or swapped in (full disk, permissions, a mount point...)."""


def check_out(out: "str | os.PathLike") -> Path:
    """Validate ``--out`` without touching the disk beyond ``stat``; returns the absolute path.

    Raises `InvalidValue` (exit 2, one line) for: an empty name, a name longer
    than the filesystem allows, a dangling symlink, /proc, /sys or /dev, an
    existing non-folder, the current folder or one of its ancestors, a non-empty
    folder that no derive build wrote (it would be replaced as a whole), and an
    ancestor that is not a folder.
    """
    raw = os.fspath(out)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if raw.strip() == "":
        raise InvalidValue("--out must name a folder, got an empty string")
    if "\0" in raw:
        raise InvalidValue(f"--out must not contain a NUL character, got {raw!r}")
    path = Path(os.path.abspath(raw))
    for part in path.parts:
        if len(os.fsencode(part)) > 255:
            raise InvalidValue(f"--out has a name of {len(os.fsencode(part))} bytes (at most 255 allowed): "
                               f"{part[:40]!r}...")
    if os.path.islink(path) and not os.path.exists(path):
        raise InvalidValue(f"--out {raw!r} is a dangling symlink (to {os.readlink(path)!r})")
    path = Path(os.path.realpath(path))
    for v in _VIRTUAL:
        if path == Path(v) or Path(v) in path.parents:
            raise InvalidValue(f"--out {raw!r} is inside {v}, a virtual filesystem; choose a real folder")
    if path.parent == path:
        raise InvalidValue(f"--out {raw!r} is a filesystem root; choose a folder inside it")
    cwd = Path(os.path.realpath(os.getcwd()))
    if path == cwd or path in cwd.parents:
        raise InvalidValue(f"--out {raw!r} is the current folder or contains it; a build replaces its "
                           "output folder as a whole: choose a subfolder such as build")
    if path.exists():
        if not path.is_dir():
            raise InvalidValue(f"--out {raw!r} exists and is not a folder")
        if not _is_derive_output(path):
            raise InvalidValue(f"--out {raw!r} is a non-empty folder that derive did not write (no {MARKER}); "
                               "a build replaces its output folder as a whole: choose a new or empty folder")
    probe = path.parent
    while not probe.exists():
        if os.path.islink(probe):
            raise InvalidValue(f"cannot write the output folder {raw!r}: {str(probe)!r} is a dangling symlink")
        probe = probe.parent
    if not probe.is_dir():
        raise InvalidValue(f"cannot write the output folder {raw!r}: {str(probe)!r} is not a writable folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InvalidValue(f"cannot write the output folder {raw!r}: {str(probe)!r} is not a writable folder")
    return path


def _is_derive_output(path: Path) -> bool:
    """An empty folder, one with the marker, or the layout of a build made before the marker existed."""
    try:
        names = set(os.listdir(path))
    except OSError as exc:
        raise InvalidValue(f"cannot read the output folder {str(path)!r}: {exc.strerror}") from None
    if not names or MARKER in names:
        return True
    return bool(names & {"lectures.tex", "slides.tex"}) and names <= {
        "equations", "figures", "lectures.tex", "slides.tex", "lectures.pdf", "slides.pdf", "lectures.log",
        "slides.log", "lectures.aux", "slides.aux", "lectures.fls", "slides.fls", "lectures.fdb_latexmk",
        "slides.fdb_latexmk", "lectures.out", "slides.out", "slides.nav", "slides.snm", "slides.toc",
        "lectures.toc"} | {n for n in names if n.startswith((".lectures", ".slides", "pdflatex"))}


# ------------------------------------------------------------------------------------------------ linux bits

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (renameat2 RENAME_EXCHANGE); False when the system cannot."""
    fn = getattr(_LIBC, "renameat2", None) if _LIBC is not None else None
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@contextmanager
def _signals_blocked():
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ----------------------------------------------------------------------------------------------- publication

class Publication:
    """One build's output: ``with Publication(out) as pub: pub.write(...); pub.commit()``.

    Leaving the block without `commit` (an exception, an interrupt) removes the
    staging folder and leaves ``out`` untouched.  The lock is taken on entry.
    """

    def __init__(self, out: "str | os.PathLike"):
        self.out = check_out(out)
        self.parent = self.out.parent
        self.lock_path = self.parent / f".{self.out.name}.lock"
        self.staging: "Path | None" = None
        self._lock_fd: "int | None" = None
        self.committed = False

    # -- lock
    def _lock(self) -> None:
        import fcntl

        while True:
            try:
                self.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
            except OSError as exc:
                raise PublishError(f"cannot write the output folder {str(self.out)!r}: {exc.strerror} "
                                   f"({exc.filename or self.parent})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise PublishError(f"cannot lock {str(self.lock_path)!r}: {exc.strerror}") from None
                try:
                    pid = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
                finally:
                    os.close(fd)
                raise OutputBusy(f"another derive build is writing {str(self.out)!r} (pid {pid}); "
                                 "wait for it to finish or choose another --out") from None
            # The holder before us removes the file when it is done: a lock on a removed file locks nothing.
            try:
                if os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            try:
                os.unlink(self.lock_path)  # while still holding it (see _lock); a SIGKILL leaves the file only
            except OSError:
                pass
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- leftovers of a build that was SIGKILLed
    def _recover(self) -> None:
        prefix_old, prefix_stage = f".{self.out.name}.old-", f".{self.out.name}.staging-"
        leftovers = sorted(p for p in self.parent.iterdir() if p.name.startswith((prefix_old, prefix_stage)))
        olds = [p for p in leftovers if p.name.startswith(prefix_old)]
        if not self.out.exists() and olds:
            # killed between the two renames of a swap: the previous build is the old folder
            newest = max(olds, key=lambda p: p.stat().st_mtime)
            os.rename(newest, self.out)
            leftovers.remove(newest)
        for p in leftovers:
            shutil.rmtree(p, ignore_errors=True)

    def __enter__(self) -> "Publication":
        import tempfile

        self._lock()
        try:
            self._recover()
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.staging-", dir=self.parent))
        except OSError as exc:
            self._unlock()
            raise PublishError(f"cannot write beside the output folder {str(self.out)!r}: {exc.strerror}") from None
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.staging is not None and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._unlock()

    # -- writing
    def path(self, rel: "str | os.PathLike") -> Path:
        """Where a file of the build goes in the staging folder (``rel`` relative to ``--out``)."""
        assert self.staging is not None, "use Publication as a context manager"
        rel = Path(rel)
        if rel.is_absolute():
            rel = rel.relative_to(self.out)
        return self.staging / rel

    def write(self, rel: "str | os.PathLike", data: "str | bytes") -> None:
        target = self.path(rel)
        payload = data.encode() if isinstance(data, str) else data
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as fh:  # mode 0666 & ~umask; the folder is private until the swap
                fh.write(payload)
        except OSError as exc:
            raise PublishError(f"cannot write {str(self.out / target.relative_to(self.staging))!r}: "
                               f"{exc.strerror}; the previous build is unchanged") from None

    def compile(self, name: str, timeout: float = DEFAULT_TEX_TIMEOUT) -> "str | None":
        """Compile ``name`` (a .tex of the build, perhaps in a subfolder: ``l14/notes.tex``) in its own
        working folder under ``.tex-work``; the .pdf joins the build beside the .tex, the log goes to
        ``logs/`` (``logs/l14-notes.log``), and the other auxiliary files stay out of the build.

        Safe to call from several threads at once for different documents.
        Returns None when no TeX is installed; raises `TexError` on failure or timeout.
        """
        assert self.staging is not None
        tool = tex_tool()
        if tool is None:
            return None
        rel = Path(name)
        folder = self.staging / rel.parent
        work = self.staging / TEX_WORK / (str(rel.parent).replace(os.sep, "-") if rel.parent != Path(".")
                                          else "top")
        work.mkdir(parents=True, exist_ok=True)
        try:
            run_tex(tool, folder, rel.name, work, timeout)
        except TexError as exc:
            raise TexError(str(exc).replace(f"{rel.name}:", f"{name}:", 1)) from None
        finally:
            log = work / (rel.stem + ".log")
            if log.exists():
                (self.staging / "logs").mkdir(exist_ok=True)
                stem = "-".join(rel.with_suffix("").parts)
                os.replace(log, self.staging / "logs" / (stem + ".log"))
        produced = work / (rel.stem + ".pdf")
        if produced.exists():
            os.replace(produced, folder / (rel.stem + ".pdf"))
        return tool

    # -- the swap
    def commit(self) -> None:
        """Swap the staging folder in as ``out``; the previous build is removed afterwards."""
        assert self.staging is not None and not self.committed
        shutil.rmtree(self.staging / TEX_WORK, ignore_errors=True)
        try:
            with open(self.staging / MARKER, "w") as fh:
                fh.write("written by `derive build`; the whole folder is replaced by the next build\n")
            os.chmod(self.staging, 0o777 & ~_umask())
            old = None
            with _signals_blocked():
                if self.out.exists():
                    if _exchange(self.staging, self.out):
                        old = self.staging
                    else:
                        old = self.parent / f".{self.out.name}.old-{os.getpid()}"
                        os.rename(self.out, old)
                        os.rename(self.staging, self.out)
                else:
                    os.rename(self.staging, self.out)
                self.committed = True
                self.staging = None
        except OSError as exc:
            raise PublishError(f"cannot replace the output folder {str(self.out)!r}: {exc.strerror}; "
                               "the previous build is unchanged") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


