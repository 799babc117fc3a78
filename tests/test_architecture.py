"""The parts' boundaries (docs/ARCHITECTURE.md), read from the source: no module imports another in a circle, an
import inside a function never dodges one, the pairs of parts that import each other only shrink, and activities,
check-in, corrections and the ledger depend on each other in one direction."""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "volunteer_registry"
NAME = PACKAGE.name

#: where an import inside a function may cross into another part: the app factory and each part's blueprint()
#: (routes are attached when the app is built, not when a model is imported), and CLI commands (each loads what it
#: needs when run). Module name → function names.
FACTORIES = {
    NAME: {"create_app", "connect_listeners"},
    f"{NAME}.cli": {"register"},
}
#: the remaining imports inside functions that cross parts, each with its reason; a new one fails the test
KNOWN_INNER_IMPORTS = {
    # the e-mail templates' context processor reads the unread count only when a page is rendered
    (f"{NAME}.templating", f"{NAME}.notifications.services"),
    # the session check runs per request; accounts.sessions imports the app's security settings
    (f"{NAME}.security", f"{NAME}.accounts.sessions"),
    # the home page offers the demo's accounts only in development
    (f"{NAME}.home.views", f"{NAME}.demo.seed"),
    # staff_role is asked per request; organizations.models imports accounts.models
    (f"{NAME}.accounts.permissions", f"{NAME}.organizations.models"),
}
#: pairs of parts that still import each other (mostly models that relate to each other's rows, and the ground
#: parts' services writing audit rows). The list may only shrink: remove a pair when it is broken.
KNOWN_MUTUAL_PAIRS = {
    ("accounts", "audit"), ("accounts", "organizations"), ("audit", "organizations"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _part(module: str) -> str | None:
    """The part a module belongs to (a sub-package of the package), or None for the shared ground."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 and (PACKAGE / bits[1]).is_dir() else None


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The package's modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name in MODULES]
    if node.level:
        base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    out = []
    for alias in node.names:
        if f"{source}.{alias.name}" in MODULES:
            out.append(f"{source}.{alias.name}")
        elif source in MODULES:
            out.append(source)
    return out


def _imports():
    """(importer, imported, enclosing function or None) for every import of the package's own modules; imports
    under ``if TYPE_CHECKING`` are left out (they never run)."""
    found = []

    def walk(module, path, node, function):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                walk(module, path, child, function or child.name)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            elif isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((module, target, function) for target in _targets(module, path, child)
                             if target != module)
            else:
                walk(module, path, child, function)

    for module, path in MODULES.items():
        walk(module, path, ast.parse(path.read_text(encoding="utf-8")), None)
    return found


IMPORTS = _imports()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def _part_graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for importer, imported, function in IMPORTS:
        source, target = _part(importer), _part(imported)
        if function is None and source and target and source != target:
            graph[source].add(target)
    return graph


def test_the_scan_finds_the_package():
    # the checks below mean nothing if the walk reads nothing
    assert len(MODULES) > 100
    assert any(importer == f"{NAME}.checkin.services" and _part(imported) == "ledger" and function is None
               for importer, imported, function in IMPORTS)


def test_no_module_imports_another_in_a_circle():
    graph = defaultdict(set)
    for importer, imported, function in IMPORTS:
        if function is None:
            graph[importer].add(imported)
    assert _cycles(graph) == []


def test_imports_inside_functions_do_not_cross_parts_outside_factories_and_commands():
    crossing = set()
    for importer, imported, function in IMPORTS:
        if function is None or _part(importer) == _part(imported) or _part(imported) is None:
            continue
        if function in FACTORIES.get(importer, ()) or importer.endswith(".cli") or function == "blueprint":
            continue
        crossing.add((importer, imported))
    assert crossing <= KNOWN_INNER_IMPORTS, sorted(crossing - KNOWN_INNER_IMPORTS)


def test_pairs_of_parts_that_import_each_other_only_shrink():
    graph = _part_graph()
    mutual = {tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph.get(b, ())}
    assert mutual <= KNOWN_MUTUAL_PAIRS, sorted(mutual - KNOWN_MUTUAL_PAIRS)
    # a pair broken since is taken off the list, so the list stays true
    assert KNOWN_MUTUAL_PAIRS <= mutual, sorted(KNOWN_MUTUAL_PAIRS - mutual)


@pytest.mark.parametrize(("lower", "higher"), [
    ("activities", "checkin"), ("activities", "ledger"), ("activities", "corrections"),
    ("ledger", "checkin"), ("ledger", "corrections"), ("ledger", "certificates"), ("ledger", "notifications"),
    ("checkin", "corrections"), ("accounts", "volunteers"), ("accounts", "certificates"),
    ("accounts", "notifications"), ("organizations", "notifications"), ("activities", "notifications"),
])
def test_a_lower_part_never_imports_a_higher_one(lower, higher):
    # anywhere, inside functions too: the higher part reacts through a signal instead
    offending = sorted({(importer, imported) for importer, imported, _function in IMPORTS
                        if _part(importer) == lower and _part(imported) == higher})
    assert offending == []


def test_create_app_registers_the_parts_in_one_loop():
    # a part attaches its own routes in blueprint(); create_app imports parts, not their route modules
    source = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    factory = next(node for node in ast.parse(source).body
                   if isinstance(node, ast.FunctionDef) and node.name == "create_app")
    route_modules = [target for importer, target, function in IMPORTS
                     if importer == NAME and function == "create_app" and _part(target)
                     and target.count(".") > 1]
    assert route_modules == []
    assert "part.blueprint()" in ast.unparse(factory)
