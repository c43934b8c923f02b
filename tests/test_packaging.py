"""What the wheel ships: every package of the engine, the content under derive.proofs, no top-level `proofs`."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")
ROOT = Path(__file__).resolve().parents[1]


def _config():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_is_shipped_under_derive():
    cfg = _config()
    listed, dirs = set(cfg["packages"]), cfg["package-dir"]
    found = set()
    for top, name in (("derive", "derive"), ("proofs", "derive.proofs")):
        assert dirs[name] == top
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top).parts
            found.add(".".join((name, *rel)))
    assert found == listed
    assert not any(p == "proofs" or p.startswith("proofs.") for p in listed)


def test_the_content_is_importable_as_derive_proofs():
    import derive.proofs.catalog as catalog
    from derive.content import claim_modules, proof_modules

    assert Path(catalog.__file__).parent == ROOT / "proofs" / "catalog"
    assert [m.__name__ for m in proof_modules()][:1] == ["derive.proofs.beyond_lectures"]
    assert len(claim_modules()) == 5


def test_a_course_authors_package_is_found_like_the_builtin_one(tmp_path, monkeypatch):
    pkg = tmp_path / "mycourse"
    (pkg / "catalog").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "week1.py").write_text(
        "from derive import D, Derivation, Step, node, product_form\n"
        "from derive.cells import rnn\n"
        "def derivations():\n"
        "    return [Derivation('week1', 'product', 'my notes', rnn(), D(node('s', 't'), node('s', 'k')),\n"
        "                       [Step(product_form('s'))], bindings=[{'t': 3, 'k': 1, 'T': 3}])]\n")
    (pkg / "catalog" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("DERIVE_CONTENT", "mycourse")
    from derive.content import collect_derivations, content_packages, proof_modules

    assert content_packages()[-1] == "mycourse"
    assert "mycourse.week1" in [m.__name__ for m in proof_modules()]
    assert collect_derivations(package="mycourse")


def test_a_source_checkout_uses_its_own_proofs(tmp_path):
    """derive.proofs is the proofs/ beside the imported derive/ (a clone or a git worktree), not the
    folder an editable install happened to be made from, and a never-installed clone finds it too."""
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    clone = tmp_path / "clone"
    shutil.copytree(root / "derive", clone / "derive", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "proofs", clone / "proofs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "pyproject.toml", clone / "pyproject.toml")
    out = subprocess.run([sys.executable, "-c", "import derive.proofs.catalog as c; print(c.__file__)"],
                         cwd=clone, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out).resolve() == (clone / "proofs" / "catalog" / "__init__.py").resolve()
