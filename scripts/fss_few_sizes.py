"""Is the comparison's standard error overconfident with few sizes? A simulation.

For K = 3, 4 and 5 sizes (8, 16, ... geometric), ``--replicas`` data sets of the same design
(second-order truth p_c = 0.5, nu = 1; 10 jittered control values per size; 2 % noise drawn
from the stated errors; a new seed per replica) are compared (plain forms, ``variants=False``),
and the spread of the score difference over replicas -- what the standard error should
estimate -- is set against the mean reported standard error. A ratio spread / se well above
1 means the reported se is overconfident. Prints one line per K, then one JSON object.

    python scripts/fss_few_sizes.py [--replicas 12]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

from statmech_nn.analysis.fss import collapse_dataset, compare_forms

TRUTH = {"p_c": 0.5, "nu": 1.0}


def simulate(n_sizes: int, replicas: int) -> dict:
    sizes = tuple(8.0 * 2 ** k for k in range(n_sizes))
    deltas, ses, right = [], [], []
    for r in range(replicas):
        ds = collapse_dataset("second_order", TRUTH, sizes=sizes, n_control=10, jitter=1.0, noise=0.02, seed=100 + r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = compare_forms(ds, "y", err="y_err", size_dim="L", control_dim="p", variants=False, n_tau=20,
                              n_walkers=24, seed=r)
        signed = c.delta if c.preferred == "second_order" else -c.delta
        deltas.append(signed)
        ses.append(c.delta_se)
        right.append(c.preferred == "second_order")
    spread = float(np.std(deltas, ddof=1))
    return {"n_sizes": n_sizes, "replicas": replicas, "mean_delta": float(np.mean(deltas)), "spread": spread,
            "mean_se": float(np.mean(ses)), "ratio": spread / float(np.mean(ses)),
            "right": int(np.sum(right)), "deltas": [round(d, 2) for d in deltas], "ses": [round(s, 2) for s in ses]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=12)
    parser.add_argument("--sizes", default="3,4,5", help="numbers of sizes to simulate")
    args = parser.parse_args()
    out = []
    for k in (int(v) for v in args.sizes.split(",")):
        start = time.perf_counter()
        row = simulate(k, args.replicas)
        print(f"K = {k}: difference {row['mean_delta']:.1f} (spread over replicas {row['spread']:.1f}), "
              f"mean reported se {row['mean_se']:.1f}, spread/se {row['ratio']:.2f}, "
              f"right {row['right']}/{row['replicas']} ({time.perf_counter() - start:.0f} s)", flush=True)
        out.append(row)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
