"""Where the data folder is (statmech_nn.datasets.data_root): MNIST, the cell cache and default
results go there, so an installed wheel must not write into its own site-packages folder (a
third-party user found the cache inside the toolkit's folder, where nothing told them to look).
"""

import importlib.util
import shutil
from pathlib import Path

import statmech_nn.datasets as datasets
from statmech_nn.datasets import DATA_ENV, data_root

CHECKOUT = Path(datasets.__file__).resolve().parent.parent


def _installed_copy(tmp_path: Path):
    """The module as a wheel installs it: ``site-packages/statmech_nn/datasets.py``, with no
    ``pyproject.toml`` beside the package."""
    site = tmp_path / "site-packages" / "statmech_nn"
    site.mkdir(parents=True)
    shutil.copy(datasets.__file__, site / "datasets.py")
    spec = importlib.util.spec_from_file_location("installed_datasets", site / "datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_explicit_root_then_the_environment_then_the_checkouts_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_root() == CHECKOUT / "data"          # the tests run from a source checkout
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "given") == tmp_path / "given"


def test_an_installed_copy_uses_the_users_data_folder_not_its_own(monkeypatch, tmp_path):
    installed = _installed_copy(tmp_path)
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert installed.data_root() == tmp_path / "xdg" / "statmech_nn"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert installed.data_root() == tmp_path / "home" / ".local" / "share" / "statmech_nn"
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "env"))
    assert installed.data_root() == tmp_path / "env"
