"""docs/quickstart.md, followed literally: every shell command and every Python snippet runs and
succeeds, so the quick start cannot rot (issue 11 found three of its commands failing).

The page's commands run as written, in a fresh working directory holding the repository's
``examples/``, with ``STATMECH_NN_DATA`` pointing into it (so ``data/results`` and the cache are
the test's own) and MNIST linked from the repository's ``data/``. Two things are added so that
it takes a minute instead of hours, and nothing else is changed: every sweep gets a *tiny
configuration* (MNIST: width 16, depth 1, one seed, 20 training steps, 2 evaluation masks;
percolation: 200 samples), and every FSS fit short chains. Only the install lines that create
the environment (``python3 -m venv``, ``pip install``, ``source``) are skipped: the test runs
inside that environment.
"""

import re
import shlex
from pathlib import Path

import pytest

from statmech_nn.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "quickstart.md"
SETUP = ("python3 -m venv", ".venv/bin/pip", "source ")
TINY_MNIST = ["--set", "training.budget=steps", "--set", "training.steps=20", "--set", "evaluation.n_masks=2",
              "--grid", "width=16", "--grid", "depth=1", "--grid", "seed=0", "--no-progress"]
TINY_PERCOLATION = ["--set", "sampling.n_samples=200", "--no-progress"]
SHORT_CHAINS = ["--n-tau", "5", "--walkers", "16", "--max-steps", "1000"]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.S)


def commands() -> list[list[str]]:
    """Each ``statmech-nn`` invocation of the page's bash blocks, in order (``&&`` splits)."""
    found = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if not line or line.startswith(SETUP):
                continue
            for part in line.split("&&"):
                argv = shlex.split(part)
                assert argv[0] == "statmech-nn", f"quickstart command is not statmech-nn: {part!r}"
                found.append(argv[1:])
    return found


def tiny(argv: list[str]) -> list[str]:
    if argv[0] == "sweep":
        return argv + (TINY_PERCOLATION if "percolation" in argv else TINY_MNIST)
    if argv[:2] == ["analyze", "fss"]:
        return argv + SHORT_CHAINS
    return argv


def test_the_page_has_what_this_test_runs():
    assert len(commands()) >= 15 and len(blocks("python")) == 2


@pytest.mark.slow
@pytest.mark.network
def test_every_command_and_snippet_of_the_quickstart_runs(tmp_path, monkeypatch, capsys):
    mnist = ROOT / "data" / "MNIST"
    if not mnist.exists():  # a fresh clone: fetch it as a user's first sweep would (data_root() is ROOT/data)
        monkeypatch.delenv("STATMECH_NN_DATA", raising=False)
        assert main(["data", "fetch", "mnist"]) == 0, capsys.readouterr().err
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "MNIST").symlink_to(mnist)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.setenv("STATMECH_NN_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    for argv in commands():
        status = main(tiny(argv))
        assert status == 0, f"statmech-nn {' '.join(argv)}: {capsys.readouterr().err}"
    for code in blocks("python"):
        exec(compile(code, str(PAGE), "exec"), {})
    assert (tmp_path / "data" / "results" / "scan.png").exists()
