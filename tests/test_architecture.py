"""The house in order: imports read from the source (Python with ast, JS import statements), no cycles, the
compute rooms free of the web framework, the session kinds and the page's tabs apart from each other, and
modules of a readable size."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
JS = ROOT / "static" / "js"
MAX_LINES = 400  # beyond this a module says in its docstring how long it is and why ("~430 lines: ...")
TABS = ("race", "cnn", "learn")
KINDS = ("race", "cnn")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _python_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(APP.rglob("*.py"))}


def _python_imports(path: Path, name: str, modules: dict[str, Path] | None = None) -> set[str]:
    """Every module this file imports, absolute: `from package import module` names the module, not the
    package (a package's __init__ importing its own modules is not a cycle)."""
    modules = modules if modules is not None else _python_modules()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = {f"{target}.{alias.name}" for alias in node.names}
            submodules = names & modules.keys()
            found.update(submodules)
            if submodules != names:
                found.add(target)
    return found


def python_graph() -> dict[str, set[str]]:
    """Module -> the app modules it imports (at any depth of the file: lazy imports count too)."""
    modules = _python_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {m for m in _python_imports(path, name, modules) if m in modules and m != name}
    return graph


JS_IMPORT = re.compile(
    r"""(?:^|[\s;])(?:import|export)\s[^"';]*?\sfrom\s*["']([^"']+)["']"""
    r"""|(?:^|[\s;])import\s*["']([^"']+)["']"""
    r"""|import\(\s*["']([^"']+)["']\s*\)""",
    re.MULTILINE,
)


def js_graph() -> dict[str, set[str]]:
    """Module path (relative to static/js) -> the modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(JS.rglob("*.js")):
        text = path.read_text(encoding="utf-8")
        targets = set()
        for match in JS_IMPORT.finditer(text):
            spec = next(g for g in match.groups() if g)
            if spec.startswith("."):
                targets.add((path.parent / spec).resolve().relative_to(JS.resolve()).as_posix())
        graph[path.relative_to(JS).as_posix()] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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


def test_the_graph_readers_see_imports():
    """The checks below can only fail if the readers find imports at all."""
    graph = python_graph()
    assert "app.sessions.live" in graph["app.main"] or any("app.sessions" in m for m in graph["app.main"])
    assert graph["app.descent.engine"] >= {"app.descent.objective"}
    js = js_graph()
    assert "i18n.js" in js["race/page.js"]
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_python_import_cycles():
    assert cycles(python_graph()) == []


def test_no_js_import_cycles():
    assert cycles(js_graph()) == []


@pytest.mark.parametrize("room", ["app.descent", "app.cnn"])
def test_compute_rooms_know_nothing_of_the_web(room):
    offenders = {}
    for name, path in _python_modules().items():
        if name == room or name.startswith(room + "."):
            web = {
                m
                for m in _python_imports(path, name)
                if m.split(".")[0] in ("fastapi", "starlette", "uvicorn") or m.startswith("app.api")
            }
            if web:
                offenders[name] = sorted(web)
    assert offenders == {}


def test_session_kinds_do_not_import_each_other():
    graph = python_graph()
    offenders = []
    for kind in KINDS:
        mine = f"app.sessions.{kind}"
        for other in KINDS:
            if other == kind:
                continue
            theirs = f"app.sessions.{other}"
            for name, targets in graph.items():
                if name == mine or name.startswith(mine + "."):
                    offenders += [(name, t) for t in targets if t == theirs or t.startswith(theirs + ".")]
    assert offenders == []


def test_the_shared_session_core_names_no_kind():
    """core, live, registry, messages: the loop and the registry work through the session contract."""
    graph = python_graph()
    kinds = {f"app.sessions.{k}" for k in KINDS}
    shared = [n for n in graph if n.startswith("app.sessions.") and n.count(".") == 2 and n not in kinds]
    assert {"app.sessions.core", "app.sessions.live", "app.sessions.registry"} <= set(shared)
    offenders = {
        name: sorted(t for t in graph[name] if any(t.startswith(f"app.sessions.{k}") for k in KINDS))
        for name in shared
    }
    assert {n: t for n, t in offenders.items() if t} == {}
    for name in shared:
        text = _python_modules()[name].read_text(encoding="utf-8")
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        assert not re.search(r"\bCnn\w*|\bRace\w*Session\b", code), name


def test_tabs_do_not_import_each_other():
    graph = js_graph()
    offenders = []
    for module, targets in graph.items():
        top = module.split("/")[0]
        for target in targets:
            target_tab = target.split("/")[0] if "/" in target else None
            if top in TABS and target_tab in TABS and target_tab != top:
                offenders.append((module, target))
            if top not in TABS and module != "main.js" and target_tab in TABS:
                offenders.append((module, target))  # shared modules serve every tab, know none
    assert offenders == []


def test_every_tab_has_the_same_roles():
    for tab in TABS:
        present = {p.name for p in (JS / tab).glob("*.js")}
        assert {"page.js", "state.js"} <= present, tab
        assert (JS / tab / "views").is_dir(), tab


def test_modules_stay_readable_or_say_why():
    long = {}
    for name, path in _python_modules().items():
        lines = path.read_text(encoding="utf-8").count("\n")
        if lines > MAX_LINES:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            if not re.search(r"~\s?\d+ lines", doc):
                long[name] = lines
    assert long == {}
