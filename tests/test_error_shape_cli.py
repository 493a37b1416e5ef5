"""``statmech-nn analyze error-shape``: the CLI face of ``fss.error_shape``.

Truth: a loss whose every (N, seed) curve is multiplied by its own factor ``exp(0.3 z)`` (with
2 % independent noise on top) has seed-to-seed deviations of ln(loss) that are almost all
offset; the command says so in its JSON, its note and its NetCDF file, restricted to the
control window asked for; bad input is one line and exit status 2."""

import json

import numpy as np
import pytest
import xarray as xr

from statmech_nn.cli import main
from statmech_nn.io import read_netcdf, write_netcdf

P_EVAL = np.round(np.linspace(0.0, 0.9, 10), 2)


@pytest.fixture
def shifted(tmp_path):
    rng = np.random.default_rng(7)
    n, seeds = [256, 1024, 4096], 4
    clean = np.exp(3 * P_EVAL)[None, :, None] * np.array(n, float)[:, None, None] ** -0.2
    loss = (clean * np.exp(0.3 * rng.standard_normal((len(n), 1, seeds)))
            * (1 + 0.02 * rng.standard_normal((len(n), len(P_EVAL), seeds))))
    ds = xr.Dataset({"loss": (("N", "p_eval", "seed", "width"), loss[..., None])},
                    coords={"N": n, "p_eval": P_EVAL, "seed": np.arange(seeds), "width": [128]})
    path = tmp_path / "shifted.nc"
    write_netcdf(ds, path)
    return path


def test_a_shared_shift_is_offset_in_json_note_and_file(shifted, tmp_path, capsys):
    out = tmp_path / "shape.nc"
    assert main(["analyze", "error-shape", str(shifted), "--log", "--control-window", "0.2:0.8",
                 "--json", "-o", str(out)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["var"] == "ln(loss)" and [row["n_points"] for row in summary["sizes"]] == [7, 7, 7]
    assert summary["pooled"]["offset"] > 0.9 > summary["null_q99"]["offset"], summary["pooled"]
    (hint,) = summary["hints"]
    assert "% offset" in hint and f"note: {hint}" in captured.err     # the table and note go to stderr
    stored = read_netcdf(out)
    assert stored.attrs["analyzer"] == "error_shape"
    for term, fraction in summary["pooled"].items():
        assert float(stored["pooled_fraction"].sel(term=term)) == pytest.approx(fraction, rel=1e-12)


@pytest.mark.parametrize("argv, fragments", [
    (["--replica", "run"], ("--replica 'run'", "'seed'")),
    (["--var", "los"], ("--var 'los'", "'loss'")),
    (["--control-window", "0.2-0.8"], ("--control-window '0.2-0.8'", "MIN:MAX")),
])
def test_bad_input_is_one_line(shifted, capsys, argv, fragments):
    assert main(["analyze", "error-shape", str(shifted), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and all(f in err for f in fragments), err


def test_a_dimension_with_several_values_asks_for_a_select(shifted, tmp_path, capsys):
    ds = read_netcdf(shifted)
    two = xr.concat([ds, ds], dim=xr.DataArray([0.0, 0.5], dims="p_train", name="p_train"))
    write_netcdf(two, tmp_path / "two.nc")
    assert main(["analyze", "error-shape", str(tmp_path / "two.nc")]) == 2
    assert "p_train with 2 values: pick one with --select p_train=VALUE" in capsys.readouterr().err
    assert main(["analyze", "error-shape", str(tmp_path / "two.nc"), "--select", "p_train=0.5", "--log"]) == 0
    capsys.readouterr()
    missing = ds.copy(deep=True)
    missing["loss"][0, 9, 0] = np.nan                      # a missing cell is no non-positive value
    write_netcdf(missing, tmp_path / "missing.nc")
    assert main(["analyze", "error-shape", str(tmp_path / "missing.nc"), "--log", "--json"]) == 0
    assert [row["n_points"] for row in json.loads(capsys.readouterr().out)["sizes"]] == [9, 10, 10]
    negative = ds.assign(loss=-ds["loss"])
    write_netcdf(negative, tmp_path / "negative.nc")
    assert main(["analyze", "error-shape", str(tmp_path / "negative.nc"), "--log"]) == 2
    assert "--log: loss has values <= 0" in capsys.readouterr().err
