"""The layer order of design/architecture.md, checked by walking every import in trading/ with `ast`.

    core → audit, sealing → reference → accounts → projects → procedures.common → procedures.<kind>
    → procedures.registry → evaluation → supervision → portal, stats, opendata → api

A package imports only from packages on its left (and from itself). Packages on the same step
(audit/sealing, two procedure kinds, portal/stats) never import each other. supervision may import
every domain package but not portal, stats or api. The top-level wiring (factory, models, demo,
vendor, extensions, config) is exempt as an importer; extensions, config and vendor (which import no
domain package) may be imported by any layer, factory, models and demo by none.

Purity: a rules.py imports neither flask (nor a flask_* extension) nor sqlalchemy, directly or
through the trading modules it imports at module level; a services.py never imports flask, directly
or so."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

TRADING = Path(__file__).resolve().parents[2] / "trading"

#: steps of the layer order, left to right; "procedures.*" is any procedure kind
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("audit", "sealing"),
    ("reference",),
    ("accounts",),
    ("projects",),
    ("procedures", "procedures.common"),
    ("procedures.*",),
    ("procedures.registry",),
    ("evaluation",),
    ("supervision",),
    ("portal", "stats", "opendata"),
    ("api",),
]
#: top-level wiring: may import anything
WIRING = {"factory", "models", "demo", "vendor", "extensions", "config"}
#: wiring that imports no domain package, so any layer may import it (core.web reads vendor versions)
IMPORTABLE_WIRING = {"extensions", "config", "vendor"}
FLASK = ("flask", "flask_")
SQLALCHEMY = ("sqlalchemy",)


@dataclass(frozen=True)
class Import:
    importer: str        # dotted module name, e.g. trading.projects.services
    target: str          # dotted module imported (absolute)
    line: int
    module_level: bool   # runs when the importer is imported (not inside a function or TYPE_CHECKING)


@dataclass(frozen=True)
class Tree:
    root: Path           # the folder of the `trading` package
    modules: dict[str, Path]

    @classmethod
    def scan(cls, root: Path) -> Tree:
        modules = {}
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root.parent).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
        return cls(root, modules)

    def is_package(self, name: str) -> bool:
        return self.modules.get(name, Path()).name == "__init__.py"


def _resolve(tree: Tree, importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer if tree.is_package(importer) else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(tree: Tree, name: str) -> list[Import]:
    """Every import in the module; `from pkg import sub` counts as importing pkg.sub when sub is a module."""
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(name, a.name, child.lineno, module_level) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(tree, name, child)
                subs = [f"{base}.{a.name}" for a in child.names if f"{base}.{a.name}" in tree.modules]
                for target in subs or [base]:
                    found.append(Import(name, target, child.lineno, module_level))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, False)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                visit(child, False)
            else:
                visit(child, module_level)

    visit(ast.parse(tree.modules[name].read_text(encoding="utf-8"), str(tree.modules[name])), True)
    return found


def unit_of(module: str) -> str | None:
    """trading.procedures.tender.rules → procedures.tender; trading.core.db → core; None outside trading."""
    parts = module.split(".")
    if parts[0] != "trading":
        return None
    if len(parts) == 1:
        return "trading"
    if parts[1] == "procedures" and len(parts) > 2:
        return f"procedures.{parts[2]}"
    return parts[1]


def rank_of(unit: str) -> int | None:
    for i, step in enumerate(LAYERS):
        if unit in step:
            return i
    if unit.startswith("procedures."):
        return next(i for i, step in enumerate(LAYERS) if "procedures.*" in step)
    return None


def layer_violations(tree: Tree) -> list[str]:
    problems = []
    for name in tree.modules:
        src = unit_of(name)
        if src in WIRING or src == "trading":
            continue
        src_rank = rank_of(src)
        if src_rank is None:
            problems.append(f"{name}: package '{src}' is not in the layer table of tests/architecture")
            continue
        for imp in imports_of(tree, name):
            dst = unit_of(imp.target)
            if dst is None or dst == src or dst == "trading" or dst in IMPORTABLE_WIRING:
                continue
            dst_rank = None if dst in WIRING else rank_of(dst)
            if dst_rank is None or dst_rank >= src_rank:
                problems.append(f"{tree.modules[name].relative_to(tree.root.parent)}:{imp.line}: "
                                f"{src} imports {imp.target} ({dst} is not to its left)")
    return problems


def _reaches(tree: Tree, start: str, banned: tuple[str, ...], direct_any_level: bool) -> list[str]:
    """Chains start → … → a banned third-party module, through module-level trading imports (and any
    direct import of the start module when direct_any_level)."""
    chains = []
    seen = {start}
    queue = [(start, [start])]
    while queue:
        name, path = queue.pop(0)
        for imp in imports_of(tree, name):
            if not imp.module_level and not (direct_any_level and name == start):
                continue
            top = imp.target.split(".")[0]
            if top.startswith(banned) or top in banned:
                chains.append(" → ".join([*path, imp.target]) + f" (line {imp.line})")
                continue
            # importing a.b.c also runs a/__init__ and a/b/__init__
            parts = imp.target.split(".")
            for i in range(1, len(parts) + 1):
                mod = ".".join(parts[:i])
                if mod in tree.modules and mod not in seen:
                    seen.add(mod)
                    queue.append((mod, [*path, mod]))
    return chains


def purity_violations(tree: Tree) -> list[str]:
    problems = []
    for name in tree.modules:
        leaf = name.rpartition(".")[2]
        if leaf == "rules":
            problems += [f"rules must stay pure: {c}" for c in _reaches(tree, name, FLASK + SQLALCHEMY, True)]
        elif leaf == "services":
            problems += [f"services never import flask: {c}" for c in _reaches(tree, name, FLASK, True)]
    return problems


# --- the real tree ---------------------------------------------------------------------------

def test_every_import_respects_the_layer_order():
    problems = layer_violations(Tree.scan(TRADING))
    assert not problems, "layer violations:\n" + "\n".join(problems)


def test_rules_and_services_stay_free_of_flask_and_sqlalchemy():
    problems = purity_violations(Tree.scan(TRADING))
    assert not problems, "\n".join(problems)


def test_the_walk_sees_the_whole_tree():
    tree = Tree.scan(TRADING)
    assert {"trading.core.db", "trading.audit.services", "trading.procedures.common.models"} <= set(tree.modules)
    targets = {i.target for i in imports_of(tree, "trading.audit.services")}
    assert {"trading.audit.models", "trading.core.context", "sqlalchemy"} <= targets


# --- the checker itself, on small made-up trees ------------------------------------------------

def _fake(tmp_path: Path, files: dict[str, str]) -> Tree:
    root = tmp_path / "trading"
    for rel, source in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    return Tree.scan(root)


@pytest.mark.parametrize("files, expected", [
    ({"audit/x.py": "from trading.accounts import models"}, "audit imports trading.accounts.models"),
    ({"accounts/x.py": "from ..projects.models import Project"}, "accounts imports trading.projects.models"),
    ({"procedures/tender/x.py": "from trading.procedures.auction import rules"},
     "procedures.tender imports trading.procedures.auction.rules"),
    ({"procedures/common/x.py": "def f():\n    import trading.procedures.tender.rules"},
     "procedures.common imports trading.procedures.tender.rules"),
    ({"supervision/x.py": "from trading.portal import queries"}, "supervision imports trading.portal.queries"),
    ({"portal/x.py": "from trading import factory"}, "portal imports trading.factory"),
    ({"newthing/x.py": ""}, "package 'newthing' is not in the layer table"),
])
def test_checker_reports_layer_violations(tmp_path, files, expected):
    tree = _fake(tmp_path, {"accounts/models.py": "", "projects/models.py": "", "portal/queries.py": "",
                            "procedures/auction/rules.py": "", "procedures/tender/rules.py": "",
                            "factory.py": "", **files})
    assert any(expected in p for p in layer_violations(tree)), layer_violations(tree)


def test_checker_accepts_imports_to_the_left(tmp_path):
    tree = _fake(tmp_path, {
        "core/db.py": "import sqlalchemy",
        "audit/models.py": "from trading.core.db import Base\nfrom . import chain",
        "audit/chain.py": "",
        "procedures/tender/services.py": "from ..common import models\nfrom trading.extensions import db",
        "procedures/common/models.py": "from trading.projects import models",
        "projects/models.py": "",
        "supervision/queries.py": "from trading.procedures.tender import services\nfrom trading.evaluation import x",
        "evaluation/x.py": "",
        "api/notices.py": "from trading.portal import x\nfrom trading.supervision import queries",
        "portal/x.py": "",
        "factory.py": "from trading.api import notices",
    })
    assert layer_violations(tree) == []


@pytest.mark.parametrize("files, expected", [
    ({"projects/rules.py": "from sqlalchemy import select"}, "trading.projects.rules → sqlalchemy"),
    ({"projects/rules.py": "from trading.core import context", "core/context.py": "from sqlalchemy.orm import Session"},
     "trading.projects.rules → trading.core.context → sqlalchemy.orm"),
    ({"projects/rules.py": "from flask_babel import lazy_gettext"}, "trading.projects.rules → flask_babel"),
    ({"projects/services.py": "def f():\n    from flask import request"}, "trading.projects.services → flask"),
    ({"projects/services.py": "from .helpers import x", "projects/helpers.py": "import flask"},
     "trading.projects.services → trading.projects.helpers → flask"),
])
def test_checker_reports_impure_rules_and_services(tmp_path, files, expected):
    problems = purity_violations(_fake(tmp_path, files))
    assert any(expected in p for p in problems), problems


def test_checker_accepts_pure_rules_and_plain_services(tmp_path):
    tree = _fake(tmp_path, {
        "projects/rules.py": "from trading.core.money import parse_yuan\nif TYPE_CHECKING:\n    import x",
        "core/money.py": "import cn2an\ndef f():\n    import sqlalchemy",
        "projects/services.py": "from sqlalchemy import select\nfrom .rules import parse_yuan",
    })
    assert purity_violations(tree) == []
