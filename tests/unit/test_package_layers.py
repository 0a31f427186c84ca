"""The packages show the layers, and the imports follow them: a package imports only the packages
below it (the table `MAY_IMPORT`), under `TYPE_CHECKING` and inside functions too; no module
imports itself back through others (no cycle); at most 12 modules sit in the package root; every
package says what it exports (`__all__`) and imports none of its submodules when imported, so the
cold start pays only for what it runs."""

from __future__ import annotations

import ast
from pathlib import Path

import paramsecrets

PACKAGE = Path(paramsecrets.__file__).parent

FOUNDATIONS = frozenset({"paramsecrets", "clock", "log", "config", "metrics", "init_window", "version_info",
                         "errors"})
"""Root modules every layer may use: time, logging, settings, counters, the INIT deadline, the version,
the error family every answered error belongs to."""

TOP = frozenset({"cli", "__main__"})
"""The command line: it dispatches to every layer (lazily, by subcommand)."""

MAY_IMPORT: dict[str, frozenset[str]] = {
    "foundations": frozenset({"foundations"}),
    "http": frozenset(),
    "aws": frozenset({"foundations"}),
    "cache": frozenset({"foundations", "http", "aws"}),
    "api": frozenset({"foundations", "http", "aws", "cache"}),
    "process": frozenset({"foundations", "http", "aws", "cache", "api"}),
    "client": frozenset({"foundations"}),
    "layer": frozenset({"foundations", "aws"}),
    "dev": frozenset({"foundations", "http", "aws", "cache", "api", "process", "client"}),
    "testing": frozenset({"foundations", "http", "aws", "cache", "api", "process", "client", "layer", "dev"}),
    "top": frozenset({"foundations", "http", "aws", "cache", "api", "process", "client", "layer", "dev"}),
}
"""Which layers each may import besides itself, bottom first. `http` is the bottom (nothing of ours),
`layer` (build tooling) is never imported by the server, `testing` is imported by nothing shipped."""


def module_name(path: Path) -> str:
    parts = ["paramsecrets", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer a module of ours belongs to (its first package below paramsecrets, or its root group)."""
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else "paramsecrets"
    if first in FOUNDATIONS:
        return "foundations"
    if first in TOP:
        return "top"
    return first


def imported_modules(path: Path, known: frozenset[str] | set[str] = frozenset()) -> set[str]:
    """Every module a file imports, anywhere in it (functions and TYPE_CHECKING blocks included);
    `from package import module` also counts as the module when `known` names it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in known)
    return found


def our_imports(path: Path, known: set[str]) -> set[str]:
    """Every module of ours a file imports (see imported_modules)."""
    return {module for module in imported_modules(path, known) if module in known}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(path): path for path in PACKAGE.rglob("*.py") if "files" not in path.parts[-2:-1]}
    known = set(files)
    return {module: our_imports(path, known) - {module} for module, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, imported in sorted(graph.items()):
        mine = layer_of(module)
        for target in sorted(imported):
            theirs = layer_of(target)
            # A package's __init__ is its own layer's; the root package is a foundation.
            if theirs != mine and theirs not in MAY_IMPORT[mine]:
                bad.append(f"{module} ({mine}) imports {target} ({theirs})")
    return bad


def test_every_import_goes_down_the_layers() -> None:
    graph = import_graph()
    assert {layer_of(module) for module in graph} == set(MAY_IMPORT), "a package with no row in MAY_IMPORT"
    assert wrong_way(graph) == []


def test_no_import_cycle_even_under_type_checking() -> None:
    assert cycles(import_graph()) == []


def test_at_most_twelve_modules_in_the_package_root() -> None:
    root = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(root) <= 12, root


def test_every_package_declares_all_and_imports_no_submodule() -> None:
    for init in sorted(PACKAGE.rglob("__init__.py")):
        tree = ast.parse(init.read_text(), str(init))
        names = {target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                 for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                 if isinstance(target, ast.Name)}
        assert "__all__" in names, f"{init.relative_to(PACKAGE)} has no __all__"
        if init.parent.name == "client":
            continue  # the client library itself (one stdlib-only file a user may vendor), not a façade
        imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
        ours = [node for node in imports if (isinstance(node, ast.Import) and any(
            a.name.startswith("paramsecrets") for a in node.names))
            or (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("paramsecrets"))]
        assert ours == [], f"{init.relative_to(PACKAGE)} imports a submodule when imported"


def test_the_checks_see_a_wrong_way_import_and_a_cycle() -> None:
    graph = {"paramsecrets.cache.store": {"paramsecrets.api.rendering"},
             "paramsecrets.api.rendering": {"paramsecrets.cache.store"},
             "paramsecrets.http.parser": {"paramsecrets.log"}}
    assert wrong_way(graph) == [
        "paramsecrets.cache.store (cache) imports paramsecrets.api.rendering (api)",
        "paramsecrets.http.parser (http) imports paramsecrets.log (foundations)"]
    assert cycles(graph) == [["paramsecrets.api.rendering", "paramsecrets.cache.store"]]


def test_the_import_reader_sees_type_checking_and_function_imports(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from paramsecrets.api import routes\n"
                      "def f():\n    import paramsecrets.cache.store\n")
    known = {"paramsecrets.api", "paramsecrets.api.routes", "paramsecrets.cache.store"}
    assert our_imports(source, known) == {"paramsecrets.api", "paramsecrets.api.routes", "paramsecrets.cache.store"}
