"""A comparison with its fits in one process and in two, side by side (alternating).

Refits the points stored in a posterior file (e.g. a study's
``analyses/fss/<slice>__<form>.nc``) with :func:`statmech_nn.analysis.fss.compare_forms`,
``processes=1`` and ``processes=2`` in turn, and prints each wall time, the verdict (which must
not change) and the median ratio.

    python scripts/fss_compare_processes.py POSTERIOR.nc [--repeats 2]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import xarray as xr

from statmech_nn.analysis.fss import compare_forms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("posterior")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    post = xr.open_dataset(args.posterior)
    ds = xr.Dataset({"y": ("point", post["obs_y"].values), "y_err": ("point", post["obs_err"].values)},
                    coords={"p": ("point", post["obs_control"].values), "L": ("point", post["obs_size"].values)})
    times: dict[int, list[float]] = {1: [], 2: []}
    for rep in range(args.repeats):
        for n in (1, 2) if rep % 2 == 0 else (2, 1):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c = compare_forms(ds, "y", err="y_err", size_dim="L", control_dim="p", processes=n)
            times[n].append(time.perf_counter() - start)
            print(f"{n} process(es): {times[n][-1]:.1f} s, {c.preferred} preferred by {c.delta:.2f} +- {c.delta_se:.2f}",
                  flush=True)
    ratio = np.median(np.array(times[1]) / np.array(times[2]))
    print(f"median: 1 process {np.median(times[1]):.1f} s, 2 processes {np.median(times[2]):.1f} s, ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
