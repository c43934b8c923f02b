"""Publishing a build as one unit: a staging folder, an atomic swap, a lock, TeX with a timeout, side workers.

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
import ctypes.util
import errno
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from derive.errors import DeriveError, InvalidValue

__all__ = ["OutputBusy", "PublishError", "TexError", "check_out", "Publication", "run_tex", "first_error",
           "SideWorker", "DEFAULT_TEX_TIMEOUT", "MARKER"]

DEFAULT_TEX_TIMEOUT = 300.0  # seconds per document; the full article compiles in well under a minute
MARKER = ".derive-build"  # written into every published build: the folder may be replaced as a whole
TEX_WORK = ".tex-work"
_VIRTUAL = ("/proc", "/sys", "/dev")


class OutputBusy(DeriveError):
    """Another build holds the output folder's lock."""


class PublishError(DeriveError):
    """The output could not be written or swapped in (full disk, permissions, a mount point...)."""


class TexError(DeriveError):
    """A TeX tool failed or timed out; the message names the file, the tool, its exit status and last lines."""


# --------------------------------------------------------------------------------------------- path checks

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

def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None


_LIBC = _libc() if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def die_with_parent() -> None:
    """In a child: ask the kernel for SIGKILL when the parent dies (Linux); a no-op elsewhere."""
    if _LIBC is not None and hasattr(_LIBC, "prctl"):
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


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


# ---------------------------------------------------------------------------------------------------- TeX

def tex_tool() -> "str | None":
    return "latexmk" if shutil.which("latexmk") else "pdflatex" if shutil.which("pdflatex") else None


def _commands(tool: str, name: str, outdir: str) -> "list[list[str]]":
    if tool == "latexmk":
        return [["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-quiet", f"-outdir={outdir}",
                 name]]
    return [["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={outdir}", name]] * 2


def _child_setup() -> None:  # runs in the forked child before exec
    die_with_parent()


_RUNNING: "set[subprocess.Popen]" = set()  # TeX processes of this build, for stop_tex
_RUNNING_LOCK = threading.Lock()


def stop_tex() -> None:
    """Stop every TeX process this build started (their process groups): for a build interrupted while
    documents compile in other threads."""
    with _RUNNING_LOCK:
        procs = list(_RUNNING)
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def run_tex(tool: str, cwd: Path, name: str, outdir: Path, timeout: float = DEFAULT_TEX_TIMEOUT) -> None:
    """Run ``tool`` on ``cwd/name`` writing into ``outdir``; within ``timeout`` seconds in all, or `TexError`.

    The tool runs in its own process group (stopped as a group on timeout or
    interrupt), with no stdin, and a fresh log (an old one is deleted first, so a
    message never quotes a stale log).
    """
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not timeout > 0 \
            or timeout != timeout or timeout == float("inf"):
        raise InvalidValue(f"--tex-timeout must be a positive number of seconds, got {timeout!r}")
    log = outdir / (Path(name).stem + ".log")
    log.unlink(missing_ok=True)
    rel_out = os.path.relpath(outdir, cwd)
    deadline = time.monotonic() + timeout
    for cmd in _commands(tool, name, rel_out):
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_child_setup)
        except OSError as exc:
            raise TexError(f"{name}: cannot run {tool}: {exc.strerror}") from None
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            output, _ = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise TexError(f"{name}: {tool} did not finish within {timeout:g} s (--tex-timeout); stopped it"
                           f"{_tail_note(log, b'')}") from None
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
        if proc.returncode != 0:
            status = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
                      else f"exited with status {proc.returncode}")
            raise TexError(f"{name}: {tool} {status}: {first_error(log)}{_tail_note(log, output)}")


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


def _tail_note(log: Path, output: bytes, n: int = 4) -> str:
    """The last non-empty lines of the log (or of the tool's output), joined on one line."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        text = output.decode(errors="replace") if output else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()][-n:]
    return ("; last lines: " + " | ".join(lines)) if lines else ""


def first_error(logfile: Path) -> str:
    """The first ``! ...`` error of a TeX log with its ``l.N`` line, or a generic message."""
    try:
        lines = logfile.read_text(errors="replace").splitlines()
    except OSError:
        return f"no log was written ({logfile.name})"
    for i, line in enumerate(lines):
        if line.startswith("!"):
            where = next((m.group(0) for m in (re.match(r"l\.(\d+)", l) for l in lines[i:i + 12]) if m), "")
            return f"{logfile.name}: {line[1:].strip()} ({where.replace('l.', 'line ') or 'line unknown'})"
    return f"{logfile.name}: compilation failed (no error line found)"


# ---------------------------------------------------------------------------------------------- side worker

class SideWorker:
    """Run ``fn()`` in a forked child that dies with its parent; `result` waits and returns its value.

    The child writes its (pickled) result to ``result_file`` and exits, so it
    never blocks on a pipe; it ignores SIGINT (the parent handles Ctrl-C and
    stops it), asks for SIGKILL on the parent's death (Linux) and, portably,
    checks ``getppid()`` four times a second.
    """

    def __init__(self, fn, result_file: Path):
        self.result_file = Path(result_file)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                die_with_parent()
                threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
                try:
                    payload = ("ok", fn())
                except BaseException as exc:  # handed to the parent, raised there
                    payload = ("error", exc if _picklable(exc) else DeriveError(f"{type(exc).__name__}: {exc}"))
                tmp = self.result_file.with_name(self.result_file.name + ".part")
                with open(tmp, "wb") as fh:
                    pickle.dump(payload, fh)
                os.replace(tmp, self.result_file)
                code = 0
            finally:
                os._exit(code)
        self.pid: "int | None" = pid

    def result(self):
        if self.pid is None:
            raise RuntimeError("the side worker was already collected")
        try:
            _, status = os.waitpid(self.pid, 0)
        except BaseException:
            self.cancel()
            raise
        self.pid = None
        try:
            with open(self.result_file, "rb") as fh:
                kind, value = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError):
            raise DeriveError(f"the figures/audit worker died ({_status(status)}) without a result") from None
        finally:
            self.result_file.unlink(missing_ok=True)
        if kind == "error":
            raise value
        return value

    def cancel(self) -> None:
        """Stop the worker (idempotent): used when the build fails or is interrupted."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.pid = None


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(0.25)


def _picklable(obj) -> bool:
    try:
        pickle.loads(pickle.dumps(obj))
        return True
    except Exception:
        return False


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}"
