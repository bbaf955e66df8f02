"""Users never see the project's internal spec: no help text, doc, message or
OpenAPI text cites "SPEC §…", and every docs/ page the code points to exists."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.testing import CliRunner

from api_support import client
from frictionkit.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
SPEC_REF = re.compile(r"SPEC\s*§|SPEC\.md")
TEXT_SUFFIXES = {".py", ".sql", ".js", ".html", ".css", ".md", ".toml", ".json", ".txt", ""}


def _shipped_text_files():
    roots = [ROOT / "src" / "frictionkit", ROOT / "docs", ROOT / "commands"]
    yield ROOT / "README.md"
    yield ROOT / "pyproject.toml"
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts:
                yield path


def test_no_shipped_file_cites_the_internal_spec():
    cited = []
    for path in _shipped_text_files():
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if SPEC_REF.search(line):
                cited.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert cited == []


def _commands(command, path: list[str]):
    yield path
    # typer's own command classes are not click's in every typer version: duck-type.
    if isinstance(getattr(command, "commands", None), dict):
        for name, sub in command.commands.items():
            yield from _commands(sub, [*path, name])


def test_no_help_text_cites_the_internal_spec():
    root = typer.main.get_command(app)
    paths = list(_commands(root, []))
    assert ["import-log"] in paths and ["insights", "overview"] in paths  # the walk reaches every level
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert not SPEC_REF.search(result.output), (path, result.output)


def test_the_openapi_document_cites_no_internal_spec(tmp_path):
    with client(tmp_path) as c:
        text = c.get("/openapi.json").text
    assert "/v1/events/batch" in text and not SPEC_REF.search(text)


def test_every_docs_page_the_code_and_docs_point_to_exists():
    pointer = re.compile(r"\bdocs/([\w.-]+\.md)")
    missing = set()
    for path in _shipped_text_files():
        for name in pointer.findall(path.read_text(encoding="utf-8", errors="replace")):
            if not (ROOT / "docs" / name).is_file():
                missing.add(f"{path.relative_to(ROOT)} -> docs/{name}")
    assert missing == set()


def test_the_contract_page_covers_every_batch_and_event_field():
    from frictionkit.core.batch import WireBatch
    from frictionkit.core.contract import WireEvent

    page = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")

    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part.title() for part in rest)

    fields = [camel(f) for f in (*WireBatch.__struct_fields__, *WireEvent.__struct_fields__)]
    assert len(fields) > 20
    assert [f for f in fields if f"`{f}`" not in page] == []
