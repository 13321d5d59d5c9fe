"""The package as a whole: its imports point one way, and a plain install carries everything."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The bot modules a module imports at its top level, those under `if TYPE_CHECKING:`
    included: a circle drawn only by type hints is still a circle (not those inside functions)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        for sub in (node.body if isinstance(node, ast.If) else [node]):
            if isinstance(sub, ast.Import):
                found |= {a.name for a in sub.names}
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                found.add(sub.module)
                found |= {f"{sub.module}.{a.name}" for a in sub.names}
    return {name for name in found if name in modules}


def test_no_import_cycle_among_the_packages_modules() -> None:
    paths = {_module_name(p): p for p in (ROOT / "bot").rglob("*.py")}
    graph = {name: _module_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        assert name not in visiting, "import cycle: " + " -> ".join(visiting[visiting.index(name):] + [name])
        visiting.append(name)
        for target in sorted(graph[name]):
            visit(target)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_a_plain_build_ships_every_subpackage_and_the_default_content(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("mehfooz-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in (ROOT / "bot").rglob("__init__.py"):
        assert package.relative_to(ROOT).as_posix() in names
    for content in (ROOT / "intents").rglob("*.yaml"):
        assert f"bot/content/default/{content.relative_to(ROOT / 'intents').as_posix()}" in names
    templates = list((ROOT / "bot" / "templates").rglob("*.html"))
    assert len(templates) >= 6  # /admin's and `intents review`'s pages
    for template in templates:
        assert template.relative_to(ROOT).as_posix() in names


def test_the_pages_render_from_the_installed_package_alone(tmp_path: Path) -> None:
    """Installed from the wheel into a fresh target, away from the clone, the review page
    renders from the templates shipped inside the package."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("mehfooz-*.whl")
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, cwd=tmp_path)
    script = ("import bot, pathlib; from bot.content.review import render_review; from bot.content.load import "
              "DEFAULT_DIR; page = render_review(pathlib.Path(DEFAULT_DIR)); "
              "print(bot.__file__, page[:15], 'Mehfooz content review' in page)")
    out = subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}).stdout
    assert out.startswith(str(target)) and out.rstrip().endswith("<!doctype html> True")
