"""Every Python example in the README and docs/ runs, so the docs cannot rot.

Rules for code blocks in those pages:

- a ```` ```python ```` block is executed; the blocks of one page share a
  namespace and run in page order, from the repository root;
- a block whose first line is ``# file: PATH`` shows a real file: the rest of
  the block must be exactly that file's text (a test runs the file itself);
- ```` ```sh ````, ```` ```console ````, ```` ```xml ```` and other blocks are
  not executed (the commands they show are run by tests/test_examples.py and
  tests/test_cli.py).
"""

from __future__ import annotations

import os
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_BLOCK = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```\s*$", re.DOTALL | re.MULTILINE)
_FILE_LINE = re.compile(r"# file: (\S+)\n")


def blocks(page: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced block of a page, in order."""
    return [(m.group(1), m.group(2)) for m in _BLOCK.finditer(page.read_text(encoding="utf-8"))]


def _id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_the_python_examples_of_a_page_run(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = [text for lang, text in blocks(page) if lang == "python" and not _FILE_LINE.match(text)]
    if not code:
        pytest.skip("no Python example on this page")
    monkeypatch.chdir(ROOT)
    # A real module, so that classes a page defines behave as in a user's file.
    module = types.ModuleType(f"docs_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    before = set(os.listdir(ROOT))
    for number, text in enumerate(code, 1):
        compiled = compile(text, f"{_id(page)} (python block {number})", "exec")
        exec(compiled, module.__dict__)
    assert set(os.listdir(ROOT)) - before == set(), "an example left a file in the repository"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_the_files_a_page_shows_are_the_files_in_the_repository(page: Path) -> None:
    shown = [(m.group(1), text[m.end():]) for _, text in blocks(page)
             if (m := _FILE_LINE.match(text))]
    if not shown:
        pytest.skip("this page shows no file")
    for path, text in shown:
        assert (ROOT / path).read_text(encoding="utf-8") == text, f"{path} differs from {_id(page)}"


def test_every_page_links_only_to_pages_that_exist() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{_id(page)} links to missing {target}"


def test_no_page_is_left_out_of_the_readme_index() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES if p.parent.name == "docs" and f"docs/{p.name}" not in readme]
    assert not missing, f"README.md does not link to {missing}"

