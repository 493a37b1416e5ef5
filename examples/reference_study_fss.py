"""Finite-size scaling at the eumentia-dementia boundary of the reference study (p_train = 0),
with N as the size and p_eval as the control parameter: the analysis behind
docs/reference_study.md. Needs the sweep of examples/reference_study.toml run with
`--set training.min_steps=0` into data/results/reference_study_fixed_epochs.nc.

The observable is ln L_CE (the loss spans two decades across p_eval, the log makes the
errors comparable), its error the standard error over seeds, restricted to a window of p_eval
around the crossing of the curves.
"""

import sys

import numpy as np

from statmech_nn.analysis.fss import compare_forms
from statmech_nn.io import read_netcdf

path = sys.argv[1] if len(sys.argv) > 1 else "data/results/reference_study_fixed_epochs.nc"
ds = read_netcdf(path).sel(p_train=0.0, width=128, depth=2).sel(p_eval=slice(0.2, 0.8))
log_loss = np.log(ds["loss"])
data = ds.assign(
    log_loss=log_loss.mean("seed").assign_attrs(long_name="log test cross-entropy", units="1"),
    log_loss_err=(log_loss.std("seed", ddof=1) / np.sqrt(ds.sizes["seed"])).assign_attrs(
        long_name="standard error over seeds of the log test cross-entropy", units="1"),
)
comparison = compare_forms(data, "log_loss", err="log_loss_err", size_dim="N", control_dim="p_eval",
                           forms=("second_order", "bkt"))
summary = comparison.summary()
for message in comparison.warnings:
    print(f"warning: {message}")
print(f"preferred: {summary['preferred']} by {summary['delta_score']:.1f} +- {summary['delta_se']:.1f} nats "
      f"({summary['score_name']})")
for name, form in summary["forms"].items():
    params = ", ".join(f"{k} = {v['median']:.3g} [{v['lo']:.3g}, {v['hi']:.3g}]" for k, v in form["params"].items())
    scale = form["hyperparams"]["err_scale"]["median"]
    print(f"{name}: {params}; error scale {scale:.2f}")
    names, matrix = form["correlation"]["names"], form["correlation"]["matrix"]
    if "sigma" in names:
        print(f"  corr(sigma, L0) = {matrix[names.index('sigma')][names.index('L0')]:+.2f}")
