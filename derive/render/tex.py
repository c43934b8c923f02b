"""TeX for the build: latexmk (or pdflatex twice) in its own process group, within a timeout, killed as a
group on timeout or interrupt (and by the kernel when the build dies); the first error of a failed run."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from derive.errors import DeriveError, InvalidValue

from .worker import die_with_parent

__all__ = ["DEFAULT_TEX_TIMEOUT", "TexError", "tex_tool", "run_tex", "stop_tex", "allow_tex", "first_error"]

DEFAULT_TEX_TIMEOUT = 300.0  # seconds per document; the full article compiles in well under a minute


class TexError(DeriveError):
    """A TeX tool failed or timed out; the message names the file, the tool, its exit status and last lines."""


# --------------------------------------------------------------------------------------------- path checks


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
_STOPPED = threading.Event()               # set by stop_tex: a TeX process started after it is stopped at once


def allow_tex() -> None:
    """Let TeX run again (a new compile stage after an interrupted one, in the same process)."""
    _STOPPED.clear()


def stop_tex() -> None:
    """Stop every TeX process this build started (their process groups), and any that a compiling thread
    is starting at this moment (until `allow_tex`): for a build interrupted while documents compile in
    other threads.  Without the second part, a signal that arrives between a thread's start of TeX and
    its record of it would leave that TeX running and the thread waiting for it."""
    with _RUNNING_LOCK:
        _STOPPED.set()
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
        if _STOPPED.is_set():
            raise TexError(f"{name}: not compiled: the build was interrupted")
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_child_setup)
        except OSError as exc:
            raise TexError(f"{name}: cannot run {tool}: {exc.strerror}") from None
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
            stopped = _STOPPED.is_set()      # stop_tex ran before the add: it could not see this process
        if stopped:
            _kill_group(proc)
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
            raise TexError(f"{name}: {tool} stopped: the build was interrupted")
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
