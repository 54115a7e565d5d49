"""The import graph of src/supertiny, read statically with `ast`: which source files a file
reaches, counting imports inside functions (a lazy import runs when its caller does).

An edge goes to the module an import names: `from supertiny.a import b` reaches a/b.py
when b is a module, else a's own file. `closure` adds the `__init__.py` of every package
above a reached module, since Python runs those first; `edges` does not, so that a
package's lazy import of its own submodule is not mistaken for a cycle.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "supertiny"


@functools.cache
def modules() -> dict[str, Path]:
    """Dotted name -> source file of every module in src/supertiny (a package: its __init__.py)."""
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


@functools.cache
def _names() -> dict[Path, str]:
    return {path: name for name, path in modules().items()}


def edges(path: Path) -> frozenset[Path]:
    """The supertiny source files a supertiny module imports directly, wherever in the file."""
    name = _names()[path]
    return _imports(path, name if path.name == "__init__.py" else name.rpartition(".")[0])


def closure(start: str | Path) -> set[Path]:
    """Every supertiny source file that running `start` (a dotted module name, or a path to any
    Python file, e.g. a stage script) can import, transitively; a supertiny start is included."""
    path = modules()[start] if isinstance(start, str) else Path(start).resolve()
    todo = [path] if path in _names() else list(_imports(path, None))
    reached: set[Path] = set()
    while todo:
        current = todo.pop()
        if current not in reached:
            reached.add(current)
            parts = _names()[current].split(".")
            todo += [*edges(current), *(modules()[".".join(parts[:i])] for i in range(1, len(parts)))]
    return reached


def cycles() -> list[list[Path]]:
    """Each import cycle among supertiny's modules (over `edges`), as the files along it."""
    found, state = [], {}  # state: 1 while on the current path, 2 when done

    def visit(path: Path, trail: list[Path]) -> None:
        state[path] = 1
        for target in sorted(edges(path)):
            if state.get(target) == 1:
                found.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[path] = 2

    for path in sorted(modules().values()):
        if path not in state:
            visit(path, [path])
    return found


@functools.cache
def _imports(path: Path, package: str | None) -> frozenset[Path]:
    """Supertiny modules that `path` names in any import statement; relative imports resolve
    against `package` (None: a file outside the package, which has none)."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if package is None:
                    continue
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                named.add(full if full in modules() else base)
    return frozenset(modules()[name] for name in named if name in modules())
