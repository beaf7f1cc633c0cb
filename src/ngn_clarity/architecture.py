"""The layers of the package, bottom to top: the one table ``tests/test_architecture.py``
checks and ``docs/architecture.md`` shows (``make docs`` writes it there).

Every import points down a layer or stays within one, never up, and never in a circle; the
package's own modules are imported at the top of a module, never inside a function (the one
lazy import of an internal module is :data:`LAZY_INTERNAL`); a third-party module is
imported inside a function only if :data:`ngn_clarity.lazy.LAZY` lists it, with its measured
cost. No module is over :data:`MAX_MODULE_LINES` lines, no function over
:data:`MAX_FUNCTION_LINES`.

A name in the table is a module below ``ngn_clarity`` or a package (all its modules); the
longest name that matches a module decides its layer (``features.tables`` is an edge while
``features`` is the pure core). ``""`` is the package itself (``ngn_clarity/__init__.py``).
"""

from __future__ import annotations

MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

#: (layer, what it is, its modules), bottom to top.
LAYERS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("base", "no I/O; constants, rules, errors, the constraint machinery",
     ("errors", "units", "settings", "taxonomy", "corrections", "outcome", "lazy",
      "architecture")),
    ("pure core", "arrays in, numbers out",
     ("dsp", "loudness", "checks", "gain", "segment", "reference", "features",
      "features.schema",
      "features.analysis", "features.families", "features.extract", "flaws", "synth",
      "remedy")),
    ("edges", "files: reading, writing, locking, naming, caching",
     ("fsutil", "audio", "layout", "records", "cache", "catalog", "state", "verdicts",
      "features.tables", "features.golden", "")),
    ("per-clip work", "one task per clip, and where tasks run", ("executor", "work")),
    ("steps", "one thing done to a data folder, with its report", ("steps",)),
    ("model and report", "phase 1B, the HTML report, every figure", ("model", "report")),
    ("orchestration", "clarity run", ("pipeline",)),
    ("command line", "clarity and the seed scripts", ("cli",)),
)

#: The one module that imports the package's own modules lazily (by name, with importlib):
#: the command registry, so that ``clarity --help`` loads no command.
LAZY_INTERNAL = ("cli.registry",)


def layer_of(module: str) -> int:
    """The layer (0 = base) of a module named below ``ngn_clarity`` (``""``: the package).

    Raises
    ------
    KeyError
        For a module the table does not place.
    """
    best, found = -1, None
    for i, (_, _, names) in enumerate(LAYERS):
        for name in names:
            covers = module == name or (name != "" and module.startswith(name + "."))
            if covers and len(name) > best:
                best, found = len(name), i
    if found is None:
        raise KeyError(f"ngn_clarity.{module} is in no layer of ngn_clarity.architecture")
    return found


def markdown() -> str:
    """The layer table as Markdown (the section of ``docs/architecture.md`` between its
    ``layers`` markers)."""
    lines = ["| layer | what | modules |", "|---|---|---|"]
    for i, (name, what, modules) in enumerate(LAYERS):
        shown = ", ".join(f"`{m}`" if m else "`ngn_clarity` (`__init__`)" for m in modules)
        lines.append(f"| {i} {name} | {what} | {shown} |")
    return "\n".join(lines)


#: The markers of the table in ``docs/architecture.md`` (``make docs`` rewrites what is between).
BEGIN, END = "<!-- layers: written by `make docs` -->", "<!-- end of layers -->"
