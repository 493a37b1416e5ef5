"""Every file of ``examples/`` is valid as what it says it is: a study file (it has
``[grids.NAME]`` tables) loads and validates against its experiment's options, a sweep file
plans its cells (``--dry-run``, nothing computed). A typo in an option, an unknown form or a
grid value out of range fails here, not after a user's first hour of training."""

from pathlib import Path

import pytest

from statmech_nn.cli import main
from statmech_nn.study.config import load_study

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.toml"))


def _is_study(path: Path) -> bool:
    return any(line.startswith("[grids.") for line in path.read_text().splitlines())


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_is_a_valid_study_or_sweep(path, tmp_path, capsys):
    pytest.importorskip("statmech_mnist_dropout")
    if _is_study(path):
        study = load_study(path, device="cpu")      # the robustness study names cuda: checked without a GPU
        assert study.grids and study.title
    else:
        assert main(["sweep", str(path), "--dry-run", "--cache-dir", str(tmp_path / "cache")]) == 0
        assert "cells:" in capsys.readouterr().out


def test_the_examples_include_both_kinds():
    kinds = {_is_study(p) for p in EXAMPLES}
    assert kinds == {True, False}, [p.name for p in EXAMPLES]


def test_compose_analysis_example_writes_into_its_out_dir(tmp_path):
    # Truth: the script's three outputs appear in the directory it is given, and nothing lands in
    # the working directory (it wrote them into the repository root, untracked).
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "examples" / "compose_analysis.py"
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "out")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["loss_vs_n.png", "phase_diagram.png", "phases.nc"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
