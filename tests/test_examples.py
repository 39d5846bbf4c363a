"""The shipped examples, run for real: the README's main job cannot rot."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from actors import ListenerError, Runtime
from actors.primitives import SequenceError
from examples import molar_masses, word_stats
from examples.chemistry import Formula, MolarMass, atom_counts
from examples.wordfreq import Document, Summary

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("formula", "counts"),
    [
        ("H2O", {"H": 2, "O": 1}),
        ("(NH4)2SO4", {"N": 2, "H": 8, "S": 1, "O": 4}),
        ("CuSO4·5H2O", {"Cu": 1, "S": 1, "O": 9, "H": 10}),
        ("Fe4[Fe(CN)6]3", {"Fe": 7, "C": 18, "N": 18}),
        ("CH3COOH", {"C": 2, "H": 4, "O": 2}),
    ],
)
def test_formulas_are_counted_atom_by_atom(formula: str, counts: dict[str, int]) -> None:
    assert dict(atom_counts(formula)) == counts


@pytest.mark.parametrize("bad", ["", "H2O)", "(H2O", "2", "h2o", "H2O+"])
def test_a_malformed_formula_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="formula"):
        atom_counts(bad)


def test_the_main_job_weighs_every_shipped_compound() -> None:
    out = io.StringIO()
    assert molar_masses.main([], out=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("weighed 105 of 105 compounds in one Buffer on simpleSystemBase")
    water = next(line for line in lines if " water " in line)
    assert "18.015 g/mol" in water
    assert lines[0].split()[:2] == ["0", "water"]  # results at their index, in file order


def test_the_chemistry_listener_answers_known_molar_masses() -> None:
    with Runtime.from_config(molar_masses.ORGANISM) as rt:
        masses = molar_masses.weigh(
            rt, [Formula("salt", "NaCl"), Formula("nonsense", "Xx2"), Formula("glucose", "C6H12O6")]
        )
        assert isinstance(masses[0], MolarMass) and masses[0].grams_per_mol == pytest.approx(58.44)
        assert masses[1] == "Handler chem.molar_mass crashed: ValueError: unknown element Xx in 'Xx2'"
        assert isinstance(masses[2], MolarMass) and masses[2].grams_per_mol == pytest.approx(180.156)
        with pytest.raises(ListenerError, match="unknown element Xx"):
            rt.ask("chem.molar_mass", Formula("nonsense", "Xx2"), timeout=10)


@pytest.mark.multiproc
def test_the_main_job_runs_on_the_multiprocess_base_as_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "examples.molar_masses", "--base", "multiprocTCPBase"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "weighed 105 of 105 compounds in one Buffer on multiprocTCPBase" in done.stdout


def test_word_stats_runs_a_sequence_per_text_inside_one_buffer(xmlactors_base: str) -> None:
    out = io.StringIO()
    assert word_stats.main(["--base", xmlactors_base], out=out) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == [d.title for d in word_stats.documents()]
    assert lines[1].endswith("most frequent: apples, family, orchard")


def test_a_failing_step_fails_only_its_own_item() -> None:
    docs = [Document("one", "a first text"), Document("empty", "..."), Document("two", "b b c")]
    with Runtime.from_config(word_stats.ORGANISM) as rt:
        summaries = word_stats.summarize_all(rt, docs)
    assert isinstance(summaries[0], Summary) and summaries[0].words == 3
    assert isinstance(summaries[1], str)
    failure = SequenceError.from_xml(summaries[1])
    assert (failure.failed_step, failure.step_index) == ("text.tokenize", 0)
    assert "document 'empty' has no words" in failure.error
    assert isinstance(summaries[2], Summary) and summaries[2].top == ["b", "c"]
