"""packaging/topicscope.spec is valid Python that takes every path from SPECPATH; scripts parse."""

from __future__ import annotations

import ast
import builtins
import re
import subprocess

import pytest

from tests.unit.packaging.helpers import PACKAGING, ROOT

SPEC = PACKAGING / "topicscope.spec"
# Names PyInstaller injects into a spec's namespace.
PYINSTALLER_GLOBALS = {"SPECPATH", "workpath", "Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"}


def spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def test_spec_compiles() -> None:
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")


def test_spec_paths_come_from_specpath() -> None:
    tree = spec_tree()
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "SPECPATH" in names
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            value = node.value
            assert not re.match(r"^(/\w|~)", value), f"absolute path {value!r}"
            assert not re.match(r"^[A-Za-z]:[\\/]", value), f"absolute path {value!r}"
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("getcwd", "cwd", "home", "expanduser"), node.attr
        # Path(".") or Path("") would resolve against the current directory.
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Path" and node.args:
            first = node.args[0]
            assert not (isinstance(first, ast.Constant) and first.value in (".", "")), (
                "Path relative to the current directory"
            )


def test_spec_uses_only_known_free_names() -> None:
    tree = spec_tree()
    bound = set(dir(builtins)) | PYINSTALLER_GLOBALS
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef):
            bound.add(node.name)
            bound.update(arg.arg for arg in node.args.args)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    loaded = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    assert not loaded - bound, f"undefined names in the spec: {sorted(loaded - bound)}"


def test_spec_reads_the_version_from_pyproject() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert "tomllib" in text and '"pyproject.toml"' in text
    assert re.search(r'\["project"\]\["version"\]', text)


def test_spec_entry_point_and_icons_exist() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert '"desktop" / "__main__.py"' in text
    assert (ROOT / "desktop" / "__main__.py").is_file()
    for icon in ("topicscope.ico", "topicscope.icns"):
        assert icon in text
        assert (ROOT / "resources" / "icons" / icon).is_file()


@pytest.mark.parametrize("script", ["build.sh", "check.sh"])
def test_shell_scripts_parse(script: str) -> None:
    result = subprocess.run(
        ["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
