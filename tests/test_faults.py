"""Faults and bad input for `derive build` (issue 13): kills at each stage, hanging/failing TeX, two builds
at once, a full filesystem, unusable --out values.  The previous build must survive intact, nothing
temporary may be left in --out, no process may survive, and every message is one line."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from derive.cli import main

REPO = Path(__file__).resolve().parents[1]
OLD = ["l14-ds-ds"]               # the "previous build"
NEW = ["l14-expand-s4-W"]         # what the interrupted build would have produced


def snapshot(folder: Path) -> "dict[str, bytes]":
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_files(out: Path) -> "list[str]":
    """Anything in --out that is not part of a published build."""
    bad = []
    for p in out.rglob("*"):
        name = p.name
        if (name.startswith(".") and name != ".derive-build") or name.endswith((".part", ".tmp", ".fls")) \
                or name.startswith("pdflatex") or name == ".tex-work":
            bad.append(str(p.relative_to(out)))
    return bad


def beside(out: Path) -> "list[str]":
    """Entries beside --out other than --out itself (the lock file included: it is removed on every exit
    that can run code)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def build_inprocess(out: Path, only, *extra) -> int:
    argv = ["build", "--out", str(out), "--no-pdf"]
    for i in only:
        argv += ["--only", i]
    return main(argv + list(extra))


@pytest.fixture
def previous(tmp_path, capsys):
    out = tmp_path / "site" / "out"
    assert build_inprocess(out, OLD) == 0
    capsys.readouterr()
    return out, snapshot(out)


@pytest.fixture(scope="module")
def new_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("expected") / "out"
    assert build_inprocess(out, NEW) == 0
    return snapshot(out)


def fake_tex(tmp_path: Path, body: str) -> "dict[str, str]":
    """A PATH whose latexmk and pdflatex run ``body`` (sh); $FAKE_TEX_PIDFILE receives their pid."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for tool in ("latexmk", "pdflatex"):
        script = bindir / tool
        script.write_text("#!/bin/sh\necho $$ > \"$FAKE_TEX_PIDFILE\"\n" + textwrap.dedent(body))
        script.chmod(0o755)
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}",
               FAKE_TEX_PIDFILE=str(tmp_path / "tex.pid"), PYTHONPATH=str(REPO))
    return env


def start_build(out: Path, only, env, *extra) -> subprocess.Popen:
    argv = [sys.executable, "-m", "derive", "build", "--out", str(out), *extra]
    for i in only:
        argv += ["--only", i]
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not (path.exists() and path.read_text().strip()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie is dead; only its parent (init here) has not reaped it yet


def gone_soon(pid: int, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def one_line_error(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err, err
    return lines[-1]


# ------------------------------------------------------------------------------------- kills during compile

@pytest.mark.parametrize("sig,code", [(signal.SIGKILL, -9), (signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_kill_during_compile_leaves_the_previous_build_intact(previous, tmp_path, sig, code):
    out, before = previous
    env = fake_tex(tmp_path, "echo '%PDF-1.5 half a pdf' > notes.pdf\nexec sleep 60\n")
    proc = start_build(out, NEW, env)
    wait_for(tmp_path / "tex.pid", proc)
    tex_pid = int((tmp_path / "tex.pid").read_text())
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    if sig != signal.SIGKILL:
        assert one_line_error(err) in ("derive: terminated", "derive: interrupted")
    assert snapshot(out) == before and not temp_files(out)
    assert gone_soon(tex_pid), "the TeX process outlived the build"
    if sig == signal.SIGKILL:  # nothing can run on SIGKILL: the staging folder beside --out is the next build's
        assert all(n.startswith(".out.staging-") or n == ".out.lock" for n in beside(out)), beside(out)
        assert build_inprocess(out, OLD) == 0
    assert beside(out) == []
    assert snapshot(out) == before


# --------------------------------------------------------------------------- kills at every other stage

@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("stage", ["derive:", "verify:", "print:", "write:"])
def test_a_kill_at_any_stage_leaves_one_complete_build(previous, new_build, sig, stage):
    """Killed as soon as the build reports ``stage``: --out holds the previous build or the complete new
    one (the swap may already be done), never a mixture, and no temporary file."""
    out, before = previous
    after = new_build
    proc = start_build(out, NEW, dict(os.environ, PYTHONPATH=str(REPO)), "--no-pdf")
    for line in proc.stderr:
        if line.startswith(stage):
            proc.send_signal(sig)
            break
    proc.communicate(timeout=30)
    got = snapshot(out)
    assert got == before or got == after, sorted(set(got) ^ set(before))
    if stage in ("derive:", "verify:"):  # long before the swap
        assert got == before
    assert not temp_files(out)
    assert build_inprocess(out, OLD) == 0 and beside(out) == [] and snapshot(out) == before


# ----------------------------------------------------------------------------------------------- TeX faults

def test_a_hanging_tex_hits_the_timeout_with_a_clean_message(previous, tmp_path):
    out, before = previous
    env = fake_tex(tmp_path, "echo 'This is a fake TeX, about to hang' >&2\nexec sleep 60\n")
    t0 = time.monotonic()
    proc = start_build(out, NEW, env, "--tex-timeout", "1")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and time.monotonic() - t0 < 30, err
    assert "Traceback" not in err
    msg = next(line for line in err.splitlines() if "did not finish" in line)
    assert msg.startswith("compile: selection/notes.tex: latexmk did not finish within 1 s (--tex-timeout)"), msg
    assert "nothing published" in err
    assert gone_soon(int((tmp_path / "tex.pid").read_text())), "the hanging TeX was not stopped"
    assert snapshot(out) == before and beside(out) == []


def test_a_failing_tex_reports_its_status_and_last_lines(previous, tmp_path):
    out, before = previous
    env = fake_tex(tmp_path, "echo 'fatal: the fake TeX is out of ink' >&2\nexit 3\n")
    proc = start_build(out, NEW, env)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "Traceback" not in err
    msg = next(line for line in err.splitlines() if "exited with status" in line)
    assert "latexmk exited with status 3" in msg and "out of ink" in msg and "no log was written" in msg
    assert snapshot(out) == before and beside(out) == []


def test_bad_tex_timeouts_are_refused(capsys, tmp_path):
    for bad in ("0", "-1", "nan", "inf", "soon"):
        assert main(["build", "--out", str(tmp_path / "o"), "--tex-timeout", bad]) == 2
        assert "--tex-timeout" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------- two builds at once

def test_a_second_build_into_the_same_folder_fails_clearly(previous, tmp_path, capsys):
    out, before = previous
    env = fake_tex(tmp_path, "exec sleep 60\n")
    proc = start_build(out, NEW, env)
    try:
        wait_for(tmp_path / "tex.pid", proc)
        assert build_inprocess(out, NEW) == 2
        err = capsys.readouterr().err
        assert one_line_error(err) == (f"derive build: error: another derive build is writing {str(out)!r} "
                                       f"(pid {proc.pid}); wait for it to finish or choose another --out")
    finally:
        proc.kill()
        proc.communicate()
    assert snapshot(out) == before
    assert build_inprocess(out, NEW) == 0  # the lock died with its holder


# ------------------------------------------------------------------------------------------ a full disk

def test_a_full_filesystem_leaves_the_previous_build(tmp_path, capsys):
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("needs root to mount a small tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        out = mnt / "out"
        assert build_inprocess(out, OLD) == 0
        before = snapshot(out)
        filler = mnt / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:  # fill the disk, then free two pages: less than the new build needs
            while True:
                os.write(fd, b"x" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        os.truncate(filler, max(0, filler.stat().st_size - 2 * 4096))
        capsys.readouterr()
        assert build_inprocess(out, ["l14-bptt-W", "l14-expand-s4-W", "l14-ds-ds"]) == 2
        msg = one_line_error(capsys.readouterr().err)
        assert "No space left on device" in msg and "previous build is unchanged" in msg, msg
        assert snapshot(out) == before and beside(out) == ["filler"]
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


# ------------------------------------------------------------------------------------------ the side worker

def test_the_side_worker_dies_with_a_killed_parent(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from derive.render.publish import SideWorker
        w = SideWorker(lambda: time.sleep(60), Path({str(tmp_path)!r}) / "result")
        print(w.pid, flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    assert alive(child)
    proc.kill()
    proc.wait()
    assert gone_soon(child), "the worker outlived its SIGKILLed parent"


def test_the_side_worker_hands_back_results_and_errors(tmp_path):
    from derive.errors import InvalidValue
    from derive.render.publish import SideWorker

    assert SideWorker(lambda: {"figures": [1, 2]}, tmp_path / "r").result() == {"figures": [1, 2]}

    def bad():
        raise InvalidValue("seed must be >= 0, got -1")

    with pytest.raises(InvalidValue, match="seed must be"):
        SideWorker(bad, tmp_path / "r").result()
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------ stale files, modes

def test_stale_files_go_and_modes_follow_the_umask(tmp_path, capsys):
    out = tmp_path / "out"
    assert build_inprocess(out, ["l14-bptt-W", "l14-ds-ds"]) == 0
    old = os.umask(0o027)
    try:
        assert build_inprocess(out, ["l14-ds-ds", "l14-expand-s4-W"]) == 0  # repeated --only accumulate
    finally:
        os.umask(old)
    assert sorted(p.name for p in (out / "selection" / "equations").iterdir()) == ["l14-ds-ds.tex", "l14-expand-s4-W.tex"]
    for p in [out, *out.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o750 if p.is_dir() else 0o640), (p, oct(mode))
    assert beside(out) == [] and not temp_files(out)


# --------------------------------------------------------------------------------------------- bad --out

def _bad_outs(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "thesis.tex").write_text("mine")
    return [("", "--out must name a folder, got an empty string"),
            ("/proc/x", "inside /proc, a virtual filesystem"),
            ("/sys/x", "inside /sys, a virtual filesystem"),
            (str(tmp_path / ("n" * 256)), "a name of 256 bytes (at most 255 allowed)"),
            (str(tmp_path / "dangling"), "is a dangling symlink"),
            (str(tmp_path / "file"), "exists and is not a folder"),
            (str(tmp_path / "file" / "sub"), "is not a writable folder"),
            (str(tmp_path / "foreign"), "a non-empty folder that derive did not write"),
            (".", "is the current folder or contains it")]


def test_every_unusable_out_is_one_line_and_exit_2_before_any_work(tmp_path, capsys):
    for value, message in _bad_outs(tmp_path):
        code = main(["build", "--out", value, "--no-pdf"])
        err = capsys.readouterr().err
        assert code == 2, (value, err)
        assert one_line_error(err).startswith("derive build: error: ") and message in err, (value, err)
        assert "verify" not in err, value  # refused before any work (no progress line)
    assert (tmp_path / "foreign" / "thesis.tex").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "file", "foreign"]


@pytest.mark.parametrize("reader", ["head -n 1", "true"])
def test_list_into_a_closed_pipe_prints_no_traceback(reader):
    """`true` exits before the listing is written: the write itself meets a closed pipe."""
    proc = subprocess.run(f"{sys.executable} -m derive list | {reader}", shell=True, cwd=REPO,
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.count("\n") == (1 if reader.startswith("head") else 0) and proc.stderr == "", proc.stderr


def test_the_figures_and_audit_worker_dies_with_a_killed_build(previous, tmp_path):
    """A full build forks the figures/audit worker; SIGKILL the build while the worker runs."""
    out, before = previous
    proc = start_build(out, [], dict(os.environ, PYTHONPATH=str(REPO)), "--no-pdf")
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    if not children.exists():
        proc.kill()
        proc.communicate()
        pytest.skip("/proc/PID/task/PID/children is not available")
    for line in proc.stderr:
        if line.startswith("derive:"):
            break
    deadline, workers = time.monotonic() + 20, []
    while not workers and time.monotonic() < deadline and proc.poll() is None:
        workers = [int(p) for p in children.read_text().split()]
        time.sleep(0.02)
    assert workers, "no worker was forked"
    proc.kill()
    proc.communicate()
    assert all(gone_soon(w) for w in workers), "the worker outlived its SIGKILLed parent"
    assert snapshot(out) == before and not temp_files(out)


# ------------------------------------------------------------------------------------- the swap itself

def test_a_build_killed_between_the_two_renames_is_repaired_by_the_next(previous, capsys):
    """Without renameat2 the swap is two renames; SIGKILL between them leaves --out missing and the previous
    build at .out.old-PID: the next build (even one that then fails) moves it back first."""
    out, before = previous
    os.rename(out, out.parent / ".out.old-4242")
    (out.parent / ".out.staging-abcd").mkdir()
    (out.parent / ".out.staging-abcd" / "lectures.tex").write_text("half")
    assert main(["build", "--out", str(out), "--no-pdf", "--only", "nope"]) == 2
    assert "unknown derivation id 'nope'" in capsys.readouterr().err
    assert snapshot(out) == before and beside(out) == []


def test_the_two_rename_swap_where_renameat2_is_missing(previous, monkeypatch, capsys):
    import derive.render.publish

    out, before = previous
    monkeypatch.setattr(derive.render.publish, "_exchange", lambda a, b: False)
    assert build_inprocess(out, NEW) == 0
    assert sorted(os.listdir(out / "selection" / "equations")) == [f"{NEW[0]}.tex"] and beside(out) == []


def test_a_read_only_parent_is_refused_before_any_work(tmp_path, capsys):
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        pytest.skip("needs root to mount a read-only tmpfs")
    mnt = tmp_path / "ro"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        assert main(["build", "--out", str(mnt / "out"), "--no-pdf"]) == 2
        err = capsys.readouterr().err
        assert one_line_error(err) == (f"derive build: error: cannot write the output folder "
                                       f"{str(mnt / 'out')!r}: {str(mnt)!r} is not a writable folder")
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_stop_that_lands_while_tex_is_starting_still_stops_it(tmp_path, monkeypatch):
    """The race behind a build that hung after SIGTERM: the signal's stop_tex ran after a compiling thread
    had started TeX but before it recorded the process, so nothing killed it and the thread waited for it."""
    from derive.render import tex

    env = fake_tex(tmp_path, "exec sleep 60\n")
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setenv("FAKE_TEX_PIDFILE", env["FAKE_TEX_PIDFILE"])
    (tmp_path / "doc.tex").write_text("x")
    real_popen = tex.subprocess.Popen

    def popen_then_signal(*args, **kwargs):   # the signal arrives just after TeX has started
        proc = real_popen(*args, **kwargs)
        wait_for(tmp_path / "tex.pid", proc)
        tex.stop_tex()
        return proc

    monkeypatch.setattr(tex.subprocess, "Popen", popen_then_signal)
    tex.allow_tex()   # as a compile stage does first (an earlier test may have interrupted one)
    t0 = time.monotonic()
    try:
        with pytest.raises(tex.TexError, match="interrupted"):
            tex.run_tex("latexmk", tmp_path, "doc.tex", tmp_path, timeout=60)
        assert time.monotonic() - t0 < 20, "run_tex waited for the TeX it should have stopped"
        assert gone_soon(int((tmp_path / "tex.pid").read_text()))
        with pytest.raises(tex.TexError, match="interrupted"):   # and no new TeX starts after the stop
            tex.run_tex("latexmk", tmp_path, "doc.tex", tmp_path, timeout=60)
    finally:
        tex.allow_tex()
