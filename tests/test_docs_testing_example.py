"""The example test file of docs/testing.md runs, and passes, as a listener author would run it.

The file lives under ``examples/`` (outside ``testpaths``), so this test runs
pytest on it in a child process: only the plugin installed with the package
and ``examples/conftest.py`` apply there, not this suite's ``tests/conftest.py``.
tests/test_docs.py checks that the page shows the file exactly.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/test_calc_listener.py"


def test_the_guide_shows_the_example_test_file_and_its_conftest() -> None:
    page = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    assert f"# file: {EXAMPLE}\n" in page
    assert "# file: examples/conftest.py\n" in page


@pytest.mark.timeout(300)  # not marked multiproc, though one of its tests is: the guide always runs
def test_the_example_test_file_of_the_guide_passes_under_pytest() -> None:
    env = {**os.environ, "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "dev")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", EXAMPLE],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) == 5, output
