"""The layout docs/architecture.md describes: engine/ is pure torch, every module it names
exists, and no module grows past about 400 lines unless the document says why."""

import re
import subprocess
import sys

from tests.apptest import ROOT

DOC = (ROOT / "docs" / "architecture.md").read_text()
LONGEST = 400


def test_the_engine_never_imports_streamlit_or_the_app():
    """engine/ is pure torch: importing every engine module pulls in neither streamlit nor ui."""
    root = ROOT / "engine"
    modules = [
        ".".join(("engine", *p.relative_to(root).with_suffix("").parts))
        for p in root.rglob("*.py")
        if p.name != "__init__.py"
    ]
    code = (
        f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}]; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'streamlit', 'ui', 'altair'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # nor lazily, inside a function
    pattern = re.compile(r"^\s*(from|import)\s+(streamlit|ui|altair)\b", re.MULTILINE)
    for path in root.rglob("*.py"):
        assert not pattern.search(path.read_text()), path.name


def test_every_file_the_document_names_exists():
    for path in re.findall(r"`((?:pages|ui|engine|tests|docs)/[\w/.]+)`", DOC):
        assert (ROOT / path).exists(), path
    table = DOC[DOC.index("## Where each lesson lives") : DOC.index("## Design notes")]
    rows = [row for row in table.splitlines() if row.startswith("| ")][2:]  # no header
    assert len(rows) == 8  # the lessons, beyond the lectures, the classroom
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        for folder, cell in zip(("pages", "ui", "engine", "tests"), cells[1:], strict=True):
            for name, inner in re.findall(r"`([^`]+)`(?:\s*\(([^)]*)\))?", cell):
                assert list((ROOT / folder).glob(name)), f"{folder}/{name}"
                for module in re.findall(r"`([a-z_0-9]+)`", inner):  # modules of a package
                    assert (ROOT / folder / name / f"{module}.py").exists(), (name, module)


def test_no_module_is_over_400_lines_unless_the_document_says_why():
    exceptions = DOC[DOC.index("## Module sizes") :]
    for path in sorted((ROOT / p) for p in ("app.py",)) + sorted(
        p for d in ("pages", "ui", "engine") for p in (ROOT / d).rglob("*.py")
    ):
        lines = len(path.read_text().splitlines())
        name = str(path.relative_to(ROOT))
        assert lines <= LONGEST or f"`{name}`" in exceptions, f"{name}: {lines} lines"
