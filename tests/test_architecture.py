"""The layering holds: no import circle, no import pointing up a layer, the package's own
imports at the top of its modules, a lazy third-party import only where ``ngn_clarity.lazy``
says why, no module over 500 lines, no function over 60. The layers are the one table of
``ngn_clarity.architecture`` (shown in ``docs/architecture.md``)."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ngn_clarity import architecture, lazy

SRC = Path(__file__).resolve().parents[1] / "src" / "ngn_clarity"


def _name(path: Path) -> str:
    """``features/tables.py`` -> ``features.tables``; ``__init__.py`` -> its package."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(SRC.rglob("*.py"))}


@dataclass
class Imports:
    internal: set[str] = field(default_factory=set)
    """Modules of the package this module imports (at any depth)."""
    in_functions: list[tuple[int, str]] = field(default_factory=list)
    """(line, module) of every import inside a function or method."""


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute module names an import statement reaches (``from . import x`` reaches the
    module ``x`` when there is one, else the package that defines ``x``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module.split(".") if MODULES[module].name == "__init__.py" or not module \
            else module.split(".")[:-1]
        base = [p for p in base if p]
        base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
        pkg = ".".join(["ngn_clarity", *base, *([node.module] if node.module else [])])
    else:
        pkg = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{pkg}.{alias.name}"
        out.append(sub if _internal(sub) in MODULES else pkg)
    return out


def _internal(absolute: str) -> str | None:
    if absolute == "ngn_clarity":
        return ""
    if absolute.startswith("ngn_clarity."):
        return absolute[len("ngn_clarity."):]
    return None


def _imports(module: str) -> Imports:
    tree = ast.parse(MODULES[module].read_text())
    found = Imports()
    in_function: set[int] = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_function.update(id(n) for n in ast.walk(fn) if n is not fn)
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or (
                isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            continue
        for target in _targets(module, node):
            inner = _internal(target)
            if inner is not None:
                assert inner in MODULES, f"{module} imports {target}, which does not exist"
                if inner != module:
                    found.internal.add(inner)
            if id(node) in in_function:
                found.in_functions.append((node.lineno, target))
    return found


IMPORTS = {m: _imports(m) for m in MODULES}


def test_every_module_has_a_layer():
    for m in MODULES:
        architecture.layer_of(m)


def test_no_import_points_up_a_layer():
    up = [f"{m} (layer {architecture.layer_of(m)}) imports {t} (layer "
          f"{architecture.layer_of(t)})"
          for m, imp in IMPORTS.items() for t in sorted(imp.internal)
          if architecture.layer_of(t) > architecture.layer_of(m)]
    assert up == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    assert _cycles({m: imp.internal for m, imp in IMPORTS.items()}) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_inside_functions_are_only_the_declared_lazy_ones():
    bad = []
    for m, imp in IMPORTS.items():
        for line, target in imp.in_functions:
            if _internal(target) is not None:
                bad.append(f"{MODULES[m].relative_to(SRC)}:{line}: {target} (internal: import "
                           f"it at the top)")
            elif not lazy.allowed(target):
                bad.append(f"{MODULES[m].relative_to(SRC)}:{line}: {target} (not in "
                           f"ngn_clarity.lazy.LAZY)")
    assert bad == []


def test_every_lazy_entry_is_imported_lazily_somewhere():
    used = {t for imp in IMPORTS.values() for _, t in imp.in_functions}
    stale = [name for name in lazy.LAZY
             if not any(u == name or u.startswith(name + ".") for u in used)]
    assert stale == []


def test_only_the_registry_imports_internal_modules_by_name():
    by_name = []
    for m, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)) \
                    and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                    "import_module", "__import__"):
                by_name.append(m)
    assert sorted(set(by_name)) == sorted(architecture.LAZY_INTERNAL)


def test_no_module_is_too_long():
    long = {m: n for m, p in MODULES.items()
            if (n := len(p.read_text().splitlines())) > architecture.MAX_MODULE_LINES}
    assert long == {}


def test_no_function_is_too_long():
    long = []
    for m, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if n > architecture.MAX_FUNCTION_LINES:
                    long.append(f"{m}.{node.name}: {n} lines")
    assert long == []


@pytest.mark.parametrize("source, module, want", [
    ("work", ast.ImportFrom(module="features.schema", names=[ast.alias("Schema")], level=1),
     ["ngn_clarity.features.schema"]),
    ("steps.tables", ast.ImportFrom(module="features", names=[ast.alias("tables")], level=2),
     ["ngn_clarity.features.tables"]),
    ("steps.tables", ast.ImportFrom(module=None, names=[ast.alias("settings")], level=2),
     ["ngn_clarity.settings"]),
    ("cli", ast.ImportFrom(module=None, names=[ast.alias("__version__")], level=2),
     ["ngn_clarity"]),
    ("steps", ast.ImportFrom(module="base", names=[ast.alias("writing")], level=1),
     ["ngn_clarity.steps.base"]),
])
def test_relative_imports_resolve_to_the_module_not_the_package(source, module, want):
    assert _targets(source, module) == want


HEAVY = ("pandas", "sklearn", "lightgbm", "matplotlib", "scipy.signal", "scipy.fft", "onnx",
         "onnxruntime", "skl2onnx", "distributed")


@pytest.mark.parametrize("argv", [["--help"], ["loudness", "{wav}"], ["run", "--help"]])
def test_light_commands_import_nothing_heavy(argv, tmp_path):
    """``clarity --help`` and ``clarity loudness FILE`` load only what they use (the command
    registry imports the chosen command's module alone)."""
    import subprocess
    import sys

    import numpy as np
    import soundfile as sf

    wav = tmp_path / "a.wav"
    sf.write(str(wav), (0.3 * np.sin(np.arange(44100) / 7.0)).astype(np.float32), 44100)
    code = ("import sys; from ngn_clarity.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, *[a.format(wav=wav) for a in argv]],
                         capture_output=True, text=True, check=True).stdout.split()
    assert [m for m in out if m in HEAVY] == []
