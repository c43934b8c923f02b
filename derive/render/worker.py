"""A side worker for the build: ``fn()`` in a forked child that dies with its parent and hands its result
back through a file (never a pipe nobody reads); and the Linux call that makes any child die with us."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import signal
import sys
import threading
import time
from pathlib import Path

from derive.errors import DeriveError

__all__ = ["SideWorker", "die_with_parent"]


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to load
        return None


_LIBC = _libc() if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child: ask the kernel for SIGKILL when the parent dies (Linux); a no-op elsewhere."""
    if _LIBC is not None and hasattr(_LIBC, "prctl"):
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


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
