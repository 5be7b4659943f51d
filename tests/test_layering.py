"""The layering of ARCHITECTURE.md, read from the code: every module of vmssroll is parsed, imports inside
functions included, and each import is held against the directions of its layer. Imports under
`if TYPE_CHECKING:` are annotations only: they obey the directions but do not count for circles."""

from __future__ import annotations

import ast
import graphlib
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vmssroll"

# layer -> (third-party packages it must not import, vmssroll layers it must not import)
FORBIDDEN: dict[str, tuple[set[str], set[str]]] = {
    "domain": ({"azure", "typer", "rich", "click"}, {"adapter", "ui", "cli", "emulator"}),
    "adapter": ({"typer", "rich", "click"}, {"ui", "cli", "emulator"}),
    "ui": ({"azure", "typer", "click"}, {"adapter", "cli", "emulator"}),
    "cli": ({"azure", "click"}, set()),
    "emulator": ({"azure", "typer", "rich", "click"}, {"domain", "adapter", "ui", "cli"}),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. vmssroll.cli.policy
    target: str  # what it names, e.g. vmssroll.domain.policy.apply or azure.core.exceptions
    line: int
    lazy: bool  # inside a function
    type_only: bool  # under `if TYPE_CHECKING:`


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool) -> list[Import]:
    """Every import statement of a module, wherever it stands, with relative imports made absolute."""
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool, type_only: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(module, a.name, node.lineno, lazy, type_only) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                head = ".".join([*base, *([node.module] if node.module else [])])
            else:
                head = node.module or ""
            found.extend(Import(module, f"{head}.{a.name}", node.lineno, lazy, type_only) for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(
                child,
                lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
                type_only or (isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)),
            )

    visit(ast.parse(source), False, False)
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "vmssroll" and len(parts) > 1 else None


def violations(imports: list[Import]) -> list[str]:
    """Imports that break a direction, or the rule that the Azure SDK is loaded only lazily by the adapter."""
    bad = []
    for imp in imports:
        layer = layer_of(imp.module)
        if layer not in FORBIDDEN:
            continue
        packages, layers = FORBIDDEN[layer]
        top = imp.target.split(".")[0]
        if top in packages or (top == "vmssroll" and layer_of(imp.target) in layers):
            bad.append(f"{imp.module}:{imp.line} imports {imp.target}")
        elif top == "azure" and not (imp.lazy or imp.type_only):
            bad.append(f"{imp.module}:{imp.line} imports {imp.target} at load time (`--help` would load it)")
    return bad


def graph(imports: list[Import], modules: set[str]) -> dict[str, set[str]]:
    """Which vmssroll module imports which (run-time imports only), each name reduced to its module."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports:
        if imp.type_only:
            continue
        target = imp.target
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != imp.module:
            edges[imp.module].add(target)
    return edges


def circle(edges: dict[str, set[str]]) -> list[str]:
    """One import circle, or [] when the graph has none."""
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as err:
        return list(err.args[1])
    return []


def read_package() -> tuple[list[Import], set[str]]:
    imports: list[Import] = []
    modules = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path, PACKAGE)
        modules.add(name)
        imports += imports_of(path.read_text(), name, path.name == "__init__.py")
    return imports, modules


def test_every_layer_imports_only_what_the_architecture_allows() -> None:
    imports, modules = read_package()
    assert {"vmssroll.domain.watch", "vmssroll.ui.status", "vmssroll.emulator.handlers"} <= modules
    assert any(i.lazy and i.target.startswith("azure.") for i in imports)  # function bodies are read
    assert violations(imports) == []


def test_the_import_graph_has_no_circle() -> None:
    imports, modules = read_package()
    assert circle(graph(imports, modules)) == []


@pytest.mark.parametrize(
    ("module", "source", "broken"),
    [
        ("vmssroll.domain.plan", "def f():\n    import rich.table\n", True),
        ("vmssroll.domain.plan", "def f():\n    from ..adapter import client\n", True),
        ("vmssroll.domain.plan", "from vmssroll.domain.model import ScaleSet\n", False),
        ("vmssroll.adapter.client", "import typer\n", True),
        ("vmssroll.adapter.client", "from vmssroll.ui.console import Out\n", True),
        ("vmssroll.adapter.client", "import azure.core.exceptions\n", True),
        ("vmssroll.adapter.client", "def f():\n    import azure.core.exceptions\n", False),
        (
            "vmssroll.adapter.client",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import azure\n",
            False,
        ),
        ("vmssroll.ui.status", "def f():\n    from vmssroll.adapter import client\n", True),
        ("vmssroll.ui.status", "import rich\n", False),
        ("vmssroll.cli.status", "def f():\n    from azure.identity import AzureCliCredential\n", True),
        ("vmssroll.emulator.app", "from ..domain import plan\n", True),
        ("vmssroll.emulator.app", "from . import arm\n", False),
    ],
)
def test_the_check_sees_a_broken_direction(module: str, source: str, broken: bool) -> None:
    assert bool(violations(imports_of(source, module, False))) == broken


def test_the_check_sees_a_circle_through_a_lazy_import_but_not_through_type_checking() -> None:
    modules = {"vmssroll.cli.a", "vmssroll.cli.b"}
    a = imports_of("from vmssroll.cli.b import x\n", "vmssroll.cli.a", False)
    lazy = imports_of("def f():\n    from . import a\n", "vmssroll.cli.b", False)
    typing_only = imports_of("if TYPE_CHECKING:\n    from .a import x\n", "vmssroll.cli.b", False)
    assert set(circle(graph(a + lazy, modules))) == modules
    assert circle(graph(a + typing_only, modules)) == []
