"""The installed ``xmlactors`` command, run in a subprocess as a user would run it."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT, command

EXAMPLE = "examples/calc.xml"
ADD = b"<Add><A>2</A><B>3</B></Add>"
SUM = "<Sum><Value>5</Value></Sum>"
TIMEOUT = 90.0


def xmlactors(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*command(), *args],
        check=False,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=TIMEOUT,
    )
    return result


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    path = tmp_path / "payload.xml"
    path.write_bytes(ADD)
    return path


@pytest.fixture
def bad_organism(tmp_path: Path) -> Path:
    path = tmp_path / "bad.xml"
    path.write_text(
        '<organism name="bad">\n'
        '  <listener name="a" handler="examples.calc:add" payload="examples.calc:Add"/>\n'
        '  <listener name="b" handler="examples.calc:add" payload="examples.calc:Ad"/>\n'
        "</organism>\n"
    )
    return path


# -- check -------------------------------------------------------------------


def test_check_lists_each_listener_on_one_line_and_exits_0() -> None:
    result = xmlactors("check", EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["calculator.add\tworkers=2\t<Add>\tAdds two integers"]


def test_check_of_a_bad_file_names_file_and_line_on_stderr_and_exits_2(bad_organism: Path) -> None:
    result = xmlactors("check", str(bad_organism))
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{bad_organism}:3: listener 'b': cannot import 'examples.calc:Ad'" in result.stderr


def test_check_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = xmlactors("check", str(tmp_path / "nowhere.xml"))
    assert result.returncode == 2
    assert "nowhere.xml: cannot read" in result.stderr


def test_python_dash_m_actors_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "actors", "check", EXAMPLE],
        capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("calculator.add\t")


@pytest.mark.parametrize(
    "args",
    [(), ("frobnicate",), ("check",), ("run", EXAMPLE, "--base", "nosuchBase"),
     ("run", EXAMPLE, "--ask", "calculator.add"), ("run", EXAMPLE, "--timeout", "soon")],
)
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    result = xmlactors(*args)
    assert result.returncode == 2
    assert "usage: xmlactors" in result.stderr


# -- run --ask ---------------------------------------------------------------


def test_run_ask_prints_the_reply_xml_and_exits_0(payload: Path) -> None:
    result = xmlactors("run", EXAMPLE, "--ask", "calculator.add", str(payload))
    assert result.returncode == 0, result.stderr
    assert result.stdout == SUM + "\n"


def test_run_ask_reads_the_payload_from_standard_input() -> None:
    result = xmlactors("run", EXAMPLE, "--ask", "calculator.add", "-", "--timeout", "10", stdin=ADD)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SUM + "\n"


def test_run_ask_to_an_unknown_target_exits_1_naming_it(payload: Path) -> None:
    result = xmlactors("run", EXAMPLE, "--ask", "calculator.mul", str(payload))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "calculator.mul" in result.stderr


def test_run_ask_whose_payload_gets_a_huh_exits_1_with_the_huh_text() -> None:
    result = xmlactors(
        "run", EXAMPLE, "--ask", "calculator.add", "-", stdin=b"<Sum><Value>1</Value></Sum>"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "answered <huh>: " in result.stderr
    assert "Sum" in result.stderr


def test_run_with_a_bad_organism_exits_2(bad_organism: Path, payload: Path) -> None:
    result = xmlactors("run", str(bad_organism), "--ask", "a", str(payload))
    assert result.returncode == 2
    assert f"{bad_organism}:3: " in result.stderr


def test_run_ask_with_a_missing_payload_file_exits_2(tmp_path: Path) -> None:
    result = xmlactors("run", EXAMPLE, "--ask", "calculator.add", str(tmp_path / "none.xml"))
    assert result.returncode == 2
    assert "none.xml" in result.stderr


@pytest.fixture
def test_organism(tmp_path: Path) -> Path:
    path = tmp_path / "test.xml"
    path.write_text(
        '<organism name="test">\n'
        '  <listener name="silent" handler="tests.listeners:silent" payload="tests.listeners:Echo"/>\n'
        '  <listener name="crash" handler="tests.listeners:crash" payload="tests.listeners:Echo"/>\n'
        "</organism>\n"
    )
    return path


def test_run_ask_without_a_reply_in_time_exits_1_naming_target_and_timeout(
    test_organism: Path,
) -> None:
    result = xmlactors(
        "run", str(test_organism), "--ask", "silent", "-", "--timeout", "0.5",
        stdin=b"<Echo><Text>hi</Text></Echo>",
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no reply from 'silent' within 0.5 s" in result.stderr


def test_run_ask_to_a_crashing_handler_exits_1_with_the_crash_in_the_huh(
    test_organism: Path,
) -> None:
    result = xmlactors(
        "run", str(test_organism), "--ask", "crash", "-", stdin=b"<Echo><Text>x</Text></Echo>"
    )
    assert result.returncode == 1
    assert "Handler crash crashed: ValueError: bad input x" in result.stderr


@pytest.mark.multiproc
def test_run_ask_on_multiproc_tcp_base_replies_and_leaves_no_process(
    payload: Path, marked_env: dict[str, str]
) -> None:
    result = xmlactors(
        "run", EXAMPLE, "--base", "multiprocTCPBase", "--ask", "calculator.add", str(payload),
        env=marked_env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == SUM + "\n"


# -- run (serving) -----------------------------------------------------------


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, waiting at most ``timeout`` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()


@pytest.mark.parametrize(
    ("base", "signum"),
    [
        ("simpleSystemBase", signal.SIGINT),
        ("simpleSystemBase", signal.SIGTERM),
        pytest.param("multiprocTCPBase", signal.SIGTERM, marks=pytest.mark.multiproc),
    ],
)
def test_run_serves_until_a_signal_then_shuts_down_and_exits_0(
    base: str, signum: signal.Signals, marked_env: dict[str, str]
) -> None:
    process = subprocess.Popen(
        [*command(), "run", EXAMPLE, "--base", base],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=marked_env,
    )
    try:
        line = first_line(process, TIMEOUT)
        assert f"running {EXAMPLE} on {base}" in line
        if base == "multiprocTCPBase":
            assert "admin port " in line
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, stderr


def _progress_start(tmp_path: Path, count: int) -> Path:
    from actors.primitives import BufferStart
    from examples.chemistry import Formula

    items = [Formula(f"water {i}", "H2O") for i in range(count)]
    start = tmp_path / "start.xml"
    start.write_bytes(BufferStart(target="chem.molar_mass", items=items, progress=True).to_bytes())
    return start


def test_run_ask_of_a_buffer_with_progress_draws_nothing_when_stderr_is_not_a_terminal(
    tmp_path: Path,
) -> None:
    from actors.primitives import BufferComplete

    start = _progress_start(tmp_path, 60)
    result = xmlactors("run", "examples/chemistry.xml", "--ask", "system.buffer", str(start))
    assert result.returncode == 0, result.stderr
    done = BufferComplete.from_xml(result.stdout)
    assert (done.total, done.successful) == (60, 60)
    assert "xmlactors: buffer" not in result.stderr


def test_run_ask_of_a_buffer_with_progress_draws_a_bar_on_a_terminal_and_ends_it(
    tmp_path: Path,
) -> None:
    import pty

    start = _progress_start(tmp_path, 2)  # two items: the bar used to stop at 1/2
    primary, secondary = pty.openpty()
    try:
        result = subprocess.run(
            [*command(), "run", "examples/chemistry.xml", "--ask", "system.buffer", str(start)],
            stdout=subprocess.PIPE, stderr=secondary, cwd=ROOT, timeout=TIMEOUT, check=False,
        )
        os.close(secondary)
        drawn = b""
        with contextlib.suppress(OSError):  # the terminal reports EIO once it is drained
            while chunk := os.read(primary, 65536):
                drawn += chunk
    finally:
        os.close(primary)
    assert result.returncode == 0
    last = drawn.decode().replace("\r\n", "\n").split("\r")[-1]
    assert last.startswith("xmlactors: buffer ") and "[" + "#" * 30 + "] 2/2" in last
    assert last.endswith(" done\n") and "/s" in last




BIG_ORGANISM = """\
<organism name="big">
  <listener name="big" handler="tests.listeners:blow_up" payload="tests.listeners:Echo"/>
</organism>
"""


def test_a_reply_over_the_limits_is_refused_with_its_listener_and_limit_and_exit_1(
    tmp_path: Path,
) -> None:
    organism = tmp_path / "big.xml"
    organism.write_text(BIG_ORGANISM)
    result = xmlactors("run", str(organism), "--ask", "big", "-",
                       stdin=b"<Echo><Text>1100000</Text></Echo>")
    assert result.returncode == 1
    assert "reply from 'big' was refused" in result.stderr
    assert "1,000,000-byte limit" in result.stderr and "Traceback" not in result.stderr
