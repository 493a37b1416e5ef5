"""The study's robustness table (statmech_nn.study.tables.robustness_dataset) on small
hand-made phase and comparison tables whose right answer is evident."""

import numpy as np
import xarray as xr

from statmech_nn.study.tables import STATS, robustness_dataset


def _phases():
    """Boundary over (p_train, depth), phases along p_eval; depth has one value."""
    shape = (2, 1, 3)  # p_train, depth, p_eval
    coords = {"p_train": [0.0, 0.3], "depth": [1], "p_eval": [0.1, 0.5, 0.9]}
    plane = (("p_train", "depth"), np.array([[0.5], [0.6]]))
    return xr.Dataset({"alpha": (("p_train", "depth", "p_eval"), np.arange(6.0).reshape(shape)),
                       "phase": (("p_train", "depth", "p_eval"), np.zeros(shape, np.int64)),
                       "boundary": plane, "boundary_stderr": (plane[0], np.full((2, 1), 0.01)),
                       "n_crossings": (plane[0], np.ones((2, 1), np.int64))}, coords=coords)


def _comparisons(points):
    """One comparison per point; every dim a point leaves out is NaN (as comparison_dataset
    writes it for listed slices naming different dims)."""
    dims = ["p_train", "depth"]
    n = len(points)
    estimate = np.arange(n * 2 * 1 * len(STATS), dtype=float).reshape(n, 2, 1, len(STATS))
    return xr.Dataset(
        {"preferred": ("comparison", np.array(["bkt"] * n, object)),
         "delta_score": ("comparison", np.full(n, 3.0)), "delta_se": ("comparison", np.full(n, 1.0)),
         "estimate": (("comparison", "form", "param", "stat"), estimate)},
        coords={"comparison": [f"c{k}" for k in range(n)], "form": ["bkt", "power"], "param": ["p_c"],
                "stat": list(STATS), "fit_a": ("comparison", np.zeros(n, np.int8)),
                "error_model": ("comparison", np.array(["independent"] * n, object)),
                **{d: ("comparison", [pt.get(d, np.nan) for pt in points]) for d in dims}})


def test_a_comparison_whose_slice_leaves_out_a_dimension_is_not_placed_and_does_not_crash():
    # Truth: comparison c0 names the full slice (p_train = 0.3, depth = 1) and belongs at that
    # cell of the table; c1 leaves depth out (NaN), so it names no cell of the (p_train, depth)
    # table and must be left out -- not crash the study after all its fits with an IndexError.
    table = robustness_dataset(_phases(), _comparisons([{"p_train": 0.3, "depth": 1}, {"p_train": 0.0}]),
                               "p_eval", False, "independent")
    assert table["preferred"].values.tolist() == [[""], ["bkt"]]
    assert table["delta_score"].values[1, 0] == 3.0 and np.isnan(table["delta_score"].values[0, 0])
    assert table["estimate"].sel(p_train=0.3, depth=1, param="p_c").values.tolist() == [0.0, 1.0, 2.0]


def test_report_warnings_name_slices_with_text_values():
    # truth: a plugin may have a text dimension (here an optimiser name with a '/'); the report's
    # warnings name its slices as they are, instead of failing on a numeric format ({v:g}), with
    # the fitted a and the error model
    from statmech_nn.study.report import collect_warnings

    summary = {"boundaries": {"columns": ["optimizer", "p_train", "boundary", "lo", "hi", "n_crossings"],
                              "rows": [["adam/w", 0.5, 0.3, 0.2, 0.4, 2]]},
               "comparisons": [{"slice": {"optimizer": "adam/w", "p_train": 0.5}, "fit_a": True,
                                "error_model": "offsets", "forms": {"bkt": {"converged": False}}, "warnings": ["few sizes"]}],
               "analyzers": {}}
    assert collect_warnings(summary) == [
        "phases (optimizer = adam/w, p_train = 0.5): alpha changes sign 2 times along the control dim; the boundary "
        "is the first crossing",
        "fss (optimizer = adam/w, p_train = 0.5, fitted a, size offsets): the bkt chains did not reach the requested "
        "length in autocorrelation times",
        "fss (optimizer = adam/w, p_train = 0.5, fitted a, size offsets): few sizes"]


def test_the_fss_points_of_several_grids_are_their_observables_union():
    """Truth: two grids sharing networks (same N, seed) at different p_eval: the observable comes
    from each grid, and a per-network variable that differs by float32 rounding between them
    (the MNIST train_loss, 3.7e-9 apart in a user's study) no longer stops the merge."""
    from statmech_nn.study.analyses import observable_union

    def sweep(p_eval, train_loss):
        return xr.Dataset({"loss": (("p_eval", "N"), np.full((len(p_eval), 2), p_eval[0] + 1.0)),
                           "train_loss": (("N",), train_loss)}, coords={"p_eval": p_eval, "N": [128, 256]})

    union = observable_union([sweep([0.0, 0.2], [0.3, 0.2]), sweep([0.1], [0.3 + 3.7e-9, 0.2])], "loss")
    assert list(union.data_vars) == ["loss"] and list(union.p_eval.values) == [0.0, 0.1, 0.2]
    np.testing.assert_array_equal(union.loss.values[:, 0], [1.0, 1.1, 1.0])
