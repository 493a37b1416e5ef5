"""Compose an analysis in Python: sweep -> exponents -> phases -> figures -> NetCDF.

Run from the repository root after the README's set-up command:
    .venv/bin/python examples/compose_analysis.py [OUT_DIR]
(it writes its figures and NetCDF file into OUT_DIR, default data/examples/). It uses a synthetic dataset with known exponents (statmech_nn.testing), so it runs in seconds;
replace `synthetic_dataset(...)` by `read_netcdf("your_sweep.nc")` for real data.
"""

import sys
from pathlib import Path

import numpy as np

from statmech_nn.analysis.phases import classify_phases
from statmech_nn.analysis.powerlaw import fit_powerlaw
from statmech_nn.io import write_netcdf
from statmech_nn.plotting.phase_diagram import plot_phase_diagram
from statmech_nn.plotting.scaling_curves import plot_loss_vs_n
from statmech_nn.testing import synthetic_dataset

sweep = synthetic_dataset(p_train=np.linspace(0, 0.8, 5), p_eval=np.linspace(0, 0.9, 10),
                          N=[256, 1024, 4096, 16384, 60000])
exponents = fit_powerlaw(sweep, "loss", size_dim="N")
phases = classify_phases(sweep, "loss", control_dim="p_eval")
print(phases["boundary"].to_series())
out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/examples")
out.mkdir(parents=True, exist_ok=True)
plot_loss_vs_n(sweep.sel(p_train=0.0), phases.sel(p_train=0.0)).savefig(out / "loss_vs_n.png")
plot_phase_diagram(phases).savefig(out / "phase_diagram.png")
write_netcdf(phases, out / "phases.nc")
print(f"wrote loss_vs_n.png, phase_diagram.png, phases.nc in {out}")
