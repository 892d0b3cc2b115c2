"""The apps stand in floors, and no file imports another that (directly or not) imports it back.

Floors, from the ground up: ``core`` (bases, errors, audit, hooks, ports and adapters) -> the
entries (``models_app``: entries, cards, schemas, the permission policy, the entry-page frame) ->
``releases`` (releases, files, scanning, images) -> ``reviews`` -> ``access`` (tokens, access
requests) -> ``webhooks`` -> ``inference`` -> ``mirroring`` -> ``deletion`` (knows every feature
through the cascade) -> ``bailo_site`` (the roof: settings, URLs, the API assembly, Celery). A
floor imports only from floors below it; a lower floor reaches a higher one only through a hook
the higher one registers in ``AppConfig.ready()`` (``core.hooks``).

Imports are read from the source with ``ast``, including imports inside functions and under
``TYPE_CHECKING`` (a deferred import is still a dependency). Migrations are left out: they name
other apps' migrations, which is Django's business, not an import of their code.

``python -m tests.test_layers`` prints the imports that run back down-to-up and the circles,
with counts; the tests below require both to be empty.
"""

from __future__ import annotations

import ast
import functools
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = [
    "core",
    "models_app",
    "releases",
    "reviews",
    "access",
    "webhooks",
    "inference",
    "mirroring",
    "deletion",
    "bailo_site",
]


@dataclass(frozen=True)
class Import:
    source: str  # module importing
    target: str  # module imported
    path: str
    line: int


def module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def source_files() -> list[Path]:
    files = []
    for floor in FLOORS:
        for path in sorted((ROOT / floor).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                files.append(path)
    return files


@functools.cache
def imports() -> list[Import]:
    """Every import of one of our modules, resolved to the module it names (read once per
    process: every test below reads the same files; callers do not change the list)."""
    files = source_files()
    known = {module_of(p) for p in files}
    found = []
    for path in files:
        source = module_of(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from pkg import name": name is a module when one exists by that name.
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    targets.append(candidate if candidate in known else node.module)
            for target in targets:
                while target and target not in known:
                    target = target.rpartition(".")[0]
                if target and target != source:
                    rel = str(path.relative_to(ROOT))
                    found.append(Import(source, target, rel, node.lineno))
    return found


def floor_of(module: str) -> int:
    return FLOORS.index(module.split(".")[0])


def imports_running_up(found: list[Import]) -> list[Import]:
    """Imports from a floor to a higher one (a lower floor depending on a higher one)."""
    return [i for i in found if floor_of(i.target) > floor_of(i.source)]


def circles(found: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan's SCCs).

    A package's ``__init__`` is left out of the graph: importing ``pkg.sub`` runs ``pkg`` first,
    but that is Python's doing, not a dependency one module has on another.
    """
    graph: dict[str, set[str]] = defaultdict(set)
    for i in found:
        graph[i.source].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                result.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in list(graph):
        if node not in index:
            visit(node)
    return result


def test_each_app_imports_only_from_the_floors_below_it() -> None:
    wrong = [f"{i.path}:{i.line} {i.source} -> {i.target}" for i in imports_running_up(imports())]
    assert not wrong, "imports running up a floor:\n" + "\n".join(wrong)


def test_the_ground_floor_imports_no_app() -> None:
    wrong = [
        f"{i.path}:{i.line} -> {i.target}"
        for i in imports()
        if i.source.split(".")[0] == "core" and i.target.split(".")[0] != "core"
    ]
    assert not wrong, "\n".join(wrong)


def test_no_files_import_each_other_in_a_circle() -> None:
    found = circles(imports())
    assert not found, "circles of imports:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_app_imports_another_apps_views() -> None:
    """Pages of one feature reach another's only through the frame (``models_app.frame``) and
    hooks: a views module is a leaf that only URL configurations import."""

    def is_views(module: str) -> bool:
        return "views" in module.split(".")

    wrong = [
        f"{i.path}:{i.line} {i.source} -> {i.target}"
        for i in imports()
        if is_views(i.target)
        and i.target.split(".")[0] != i.source.split(".")[0]
        and not i.source.endswith("urls")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_reader_sees_real_imports() -> None:
    """The checks above are only as good as the reading: it must see known imports."""
    found = {(i.source, i.target) for i in imports()}
    assert ("models_app.policy", "models_app.models") in found
    assert ("bailo_site.api", "models_app.api.entries") in found


if __name__ == "__main__":
    everything = imports()
    up = imports_running_up(everything)
    print(f"imports running up a floor: {len(up)}")
    for i in up:
        print(f"  {i.path}:{i.line} {i.source} -> {i.target}")
    found = circles(everything)
    print(f"circles of files: {len(found)}")
    for group in found:
        print("  " + " <-> ".join(group))
