"""The layout holds: no import circle inside coach/ (function-level imports included), and the
script package (routine to timeline) loads none of the front ends' or the sound's libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

COACH = Path(__file__).resolve().parent.parent / "coach"


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(root: Path) -> dict[str, set[str]]:
    """Each module under `root` -> the modules under `root` it imports, wherever in the file
    (an import inside a function counts: it runs too); a package's import runs its parents'
    __init__ first, so those count as well."""
    modules = {module_name(root, p): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package `level - 1` steps up
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                found.add(base)
                found |= {f"{base}.{alias.name}" for alias in node.names}
        # Importing a.b runs a/__init__ first, except where this module sits inside a:
        # Python has started that package before any of its modules, so a package whose
        # __init__ gathers its own modules (coach.cli) is no circle by that alone.
        ancestors = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
        for target in list(found):
            parts = target.split(".")
            found |= {".".join(parts[:k]) for k in range(1, len(parts))} - ancestors
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other, round (Tarjan's strongly connected
    components of more than one module), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_no_import_circle_inside_coach():
    assert circles(imports(COACH)) == []


def test_a_circle_through_a_function_level_or_relative_import_is_found(tmp_path):
    package = tmp_path / "pkg"
    (package / "inner").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inner" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.inner import b\n")
    (package / "inner" / "b.py").write_text("def late():\n    from .. import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("import pkg.c\nimport os\n")  # on the way in, not round
    graph = imports(package)
    assert graph["pkg.d"] == {"pkg.c"}  # pkg itself started before pkg.d could
    assert circles(graph) == [["pkg.a", "pkg.c", "pkg.inner.b"]]
    (package / "inner" / "b.py").write_text("def late():\n    pass\n")
    assert circles(imports(package)) == []


def test_the_script_package_loads_no_front_end_or_sound_library():
    script = (
        "import sys\n"
        "import coach.script.compiler, coach.script.framing, coach.script.lint\n"
        "import coach.script.routine\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "coach" in loaded
    for library in ("click", "numpy", "sounddevice", "piper", "onnxruntime", "pocketsphinx"):
        assert library not in loaded
