"""The percolation plugin against exactly known physics.

1. Tiny tori (L = 2, 3, 4): the wrapping probability is a polynomial in p obtained by
   enumerating all 2^(L^2) configurations with an independent cluster search (breadth-first,
   lifted coordinates); Newman–Ziff estimates must agree within their sampling error.
2. Moderately large L at p_c: the universal wrapping probabilities of the torus (Pinson 1994;
   Newman & Ziff 2001).
3. End to end through the command line: a sweep over (p, L) and the finite-size-scaling
   analyzer recover p_c = 0.592746 and nu = 4/3.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from collections import deque

import numpy as np
import pytest
from scipy.stats import binom

from statmech_nn.conformance import check_experiment
from statmech_nn.errors import ConfigError
from statmech_nn.plugins import get_registry
from statmech_percolation.experiment import PercolationExperiment, check_fits
from statmech_percolation.newman_ziff import (
    WRAPPING_KINDS,
    canonical,
    first_wrapping_times,
    microcanonical,
)

P_C = 0.592746  # site percolation threshold of the square lattice (Newman & Ziff 2001: 0.59274621(13))
NU = 4.0 / 3.0  # correlation-length exponent of 2D percolation (exact)
#: Universal wrapping probabilities at p_c on the L x L torus as L -> infinity (Pinson 1994;
#: Newman & Ziff, PRE 64, 016706 (2001), eqs. (6)-(8)).
R_INF = {"horizontal": 0.521058, "either": 0.690473, "both": 0.351642}


# -- an independent reference: wrapping of one configuration by breadth-first search ----------
def wrapping_of(occupied: list[bool], L: int) -> tuple[bool, bool]:
    """(wraps horizontally, wraps vertically) for occupied sites ``x + L*y`` of the L x L torus.

    Each cluster is explored breadth-first, giving every site a position in the unwrapped plane;
    a bond to an already placed site at a different unwrapped position closes a loop around the
    torus (winding = the position difference), which is the definition of wrapping.
    """
    lifted: dict[int, tuple[int, int]] = {}
    h = v = False
    for start in range(L * L):
        if not occupied[start] or start in lifted:
            continue
        lifted[start] = (start % L, start // L)
        queue = deque([start])
        while queue:
            X, Y = lifted[queue.popleft()]
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                nx, ny = X + dx, Y + dy
                site = nx % L + (ny % L) * L
                if not occupied[site]:
                    continue
                if site not in lifted:
                    lifted[site] = (nx, ny)
                    queue.append(site)
                else:
                    h |= lifted[site][0] != nx
                    v |= lifted[site][1] != ny
    return h, v


def exact_microcanonical(L: int) -> dict[str, np.ndarray]:
    """Exact R_n (n = 0..L^2) of each wrapping kind by enumerating all 2^(L^2) configurations."""
    n_sites = L * L
    counts = {kind: np.zeros(n_sites + 1) for kind in WRAPPING_KINDS}
    for bits in itertools.product((False, True), repeat=n_sites):
        h, v = wrapping_of(list(bits), L)
        n = sum(bits)
        for kind, wraps in zip(WRAPPING_KINDS, (h, v, h or v, h and v)):
            counts[kind][n] += wraps
    n_configs = np.array([math.comb(n_sites, n) for n in range(n_sites + 1)], dtype=float)
    return {kind: c / n_configs for kind, c in counts.items()}


@pytest.fixture(scope="module", params=[2, 3, 4])
def tiny_torus(request):
    """(L, exact R_n per kind, Newman-Ziff first wrapping times of 20,000 runs)."""
    L = request.param
    runs = first_wrapping_times(L, 20_000, np.random.default_rng(2024 + L))
    return L, exact_microcanonical(L), runs


def test_reference_enumeration_knows_the_obvious():
    # Truths checkable by hand, so the reference itself can fail: on the 3x3 torus one full
    # row wraps horizontally only, a row plus a column wraps both ways, and a diagonal
    # (no nearest-neighbour bonds) wraps neither way.
    row = [y == 0 for y in range(3) for x in range(3)]
    col = [x == 0 for y in range(3) for x in range(3)]
    diag = [x == y for y in range(3) for x in range(3)]
    assert wrapping_of(row, 3) == (True, False)
    assert wrapping_of([a or b for a, b in zip(row, col)], 3) == (True, True)
    assert wrapping_of(diag, 3) == (False, False)
    # two neighbours on the 2x2 torus are joined by two bonds: a loop that wraps
    assert wrapping_of([True, True, False, False], 2) == (True, False)


@pytest.mark.parametrize("kind", WRAPPING_KINDS)
def test_microcanonical_matches_exact_enumeration(tiny_torus, kind):
    # Truth: exact R_n by enumeration.  Where R_n is 0 or 1 (e.g. no wrapping with fewer than
    # L sites) the estimate must be exact; elsewhere it is a mean of 20,000 Bernoulli draws,
    # so it must lie within 5 binomial standard errors (false alarm ~1e-6 per point).
    L, exact, runs = tiny_torus
    estimate = microcanonical(runs.of(kind), L * L)
    sigma = np.sqrt(exact[kind] * (1 - exact[kind]) / runs.n_samples)
    assert np.all(np.abs(estimate - exact[kind]) <= 5 * sigma), (estimate, exact[kind])
    assert estimate[L - 1] == 0 and estimate[-1] == 1


@pytest.mark.parametrize("kind", WRAPPING_KINDS)
def test_canonical_matches_exact_polynomial_and_its_error(tiny_torus, kind):
    # Truth: R(p) = sum_n C(N,n) p^n (1-p)^(N-n) R_n with exact R_n, and the exact standard
    # error of the estimator (the first wrapping time t has P(t = n) = R_n - R_(n-1), so
    # Var r(p) with r = P[Bin(N,p) >= t] is computable).  The estimate must be within 5 exact
    # standard errors (+1e-12 rounding: on the 2x2 torus 'both' always starts at t = 3, so its
    # error is 0).  The reported error must match the exact one within 15 %: a sample standard
    # deviation has relative error ~ sqrt((kurtosis - 1) / 4S); at the extreme p it is driven
    # by the rarest early wrappings (t = L: ~90 of 20,000 runs for L = 4), i.e. ~5 %, so 3x that.
    L, exact, runs = tiny_torus
    n_sites = L * L
    p = np.linspace(0.05, 0.95, 19)
    pmf = binom.pmf(np.arange(n_sites + 1)[:, None], n_sites, p[None, :])
    truth = (exact[kind][:, None] * pmf).sum(axis=0)
    p_t = np.diff(exact[kind], prepend=0.0)
    r = binom.sf(np.arange(n_sites + 1)[:, None] - 1, n_sites, p[None, :])
    exact_err = np.sqrt((p_t[:, None] * (r - truth) ** 2).sum(axis=0) / runs.n_samples)
    mean, err = canonical(runs.of(kind), n_sites, p)
    assert np.all(np.abs(mean - truth) <= 5 * exact_err + 1e-12), (mean, truth)
    np.testing.assert_allclose(err, exact_err, rtol=0.15, atol=1e-12)
    assert np.all(err <= np.sqrt(mean * (1 - mean) / runs.n_samples) + 1e-12)


def test_canonical_is_the_binomial_convolution_of_the_microcanonical():
    # Truth: the defining formula R(p) = sum_n C(N,n) p^n (1-p)^(N-n) R_n (Newman & Ziff eq. 2),
    # applied to the same runs; both are exact sums, equal to rounding (1e-12).
    L = 16
    runs = first_wrapping_times(L, 300, np.random.default_rng(7))
    p = np.array([0.0, 0.3, P_C, 0.61, 1.0])
    pmf = binom.pmf(np.arange(L * L + 1)[:, None], L * L, p[None, :])
    for kind in WRAPPING_KINDS:
        direct = (microcanonical(runs.of(kind), L * L)[:, None] * pmf).sum(axis=0)
        np.testing.assert_allclose(canonical(runs.of(kind), L * L, p)[0], direct, atol=1e-12)


def test_universal_wrapping_probabilities_at_p_c():
    # Truth: R(p_c) -> R_inf (Pinson; Newman-Ziff) with finite-size corrections ~ L^-2, about
    # 1e-3 at L = 32 (Newman & Ziff fig. 4), so the allowance is 4 standard errors of the
    # 8,000-run mean (~0.02) plus 0.003.  The horizontal value uses the average of the
    # horizontal and vertical indicators (equal by symmetry) to halve the variance.
    L = 32
    runs = first_wrapping_times(L, 8000, np.random.default_rng(11))
    at = np.array([P_C])
    h, h_err = canonical(np.concatenate([runs.horizontal, runs.vertical]), L * L, at)
    estimates = {"horizontal": (h, h_err * math.sqrt(2)),
                 "either": canonical(runs.of("either"), L * L, at),
                 "both": canonical(runs.of("both"), L * L, at)}
    for kind, (value, err) in estimates.items():
        assert abs(value[0] - R_INF[kind]) <= 4 * err[0] + 0.003, (kind, value, err)


# -- the experiment plugin ------------------------------------------------------------------
def test_plugin_is_found_through_its_entry_point():
    # Truth: the distribution registers 'percolation' in entry-point group statmech_nn, as any
    # third-party plugin would; the registry must list it with the right class.
    assert get_registry().experiment("percolation") is PercolationExperiment
    (info,) = [i for i in get_registry().plugins() if i.name == "percolation"]
    assert info.registers["experiment"] == ["percolation"] and not info.error


def test_experiment_satisfies_the_contract_and_is_reproducible():
    # Truth: the core's conformance checks (coordinates equal the cell, CF attributes, same
    # config + seed -> identical numbers); one cell per L holding every p.
    options = {"sampling": {"n_samples": 200}}
    grid = {"p": [0.4, 0.6, 0.8], "L": [4, 6]}
    first = check_experiment(PercolationExperiment, grid, options)
    assert set(first.data_vars) == {"wrapping", "wrapping_err", "n_samples"}
    assert first["p"].attrs["long_name"] == "site occupation probability"
    assert first["L"].attrs["long_name"] == "linear lattice size"
    experiment = PercolationExperiment(options)
    cells = experiment.plan(experiment.validate_grid(grid))
    assert cells == [{"p": (0.4, 0.6, 0.8), "L": (4,)}, {"p": (0.4, 0.6, 0.8), "L": (6,)}]


def test_numbers_depend_on_seed_and_observable_not_on_the_other_cells():
    # Truth: each L draws from default_rng([seed, L]); another seed gives other runs, another
    # observable another probability (either >= horizontal pointwise, strictly in between
    # p = 0 and 1), and a cell computed alone equals the same cell computed in a larger sweep.
    cell = {"p": (0.5, 0.6), "L": (8,)}
    base = PercolationExperiment({"sampling": {"n_samples": 300}}).run_cell(cell)
    reseeded = PercolationExperiment({"sampling": {"n_samples": 300, "seed": 1}}).run_cell(cell)
    either = PercolationExperiment({"sampling": {"n_samples": 300},
                                    "observable": {"wrapping": "either"}}).run_cell(cell)
    assert not np.array_equal(base["wrapping"].values, reseeded["wrapping"].values)
    assert np.all(either["wrapping"].values > base["wrapping"].values)
    assert base["wrapping"].attrs["wrapping"] == "horizontal"
    direct = canonical(first_wrapping_times(8, 300, np.random.default_rng([0, 8])).horizontal,
                       64, np.array([0.5, 0.6]))[0]
    np.testing.assert_array_equal(base["wrapping"].values[:, 0], direct)


@pytest.mark.parametrize(("grid", "message"), [
    ({"p": [1.5], "L": [8]}, "grid p = 1.5: expected a site occupation probability in [0, 1]"),
    ({"p": [-0.1], "L": [8]}, "grid p = -0.1: expected a site occupation probability in [0, 1]"),
    ({"p": ["x"], "L": [8]}, "grid p = 'x': expected a site occupation probability in [0, 1]"),
    ({"p": [0.5], "L": [1]}, "grid L = 1: expected an integer lattice size >= 2"),
    ({"p": [0.5], "L": [8.5]}, "grid L = 8.5: expected an integer lattice size >= 2"),
    ({"p": [0.5], "L": [True]}, "grid L = True: expected an integer lattice size >= 2"),
])
def test_bad_grid_is_a_one_line_error(grid, message):
    # Truth: the contract for bad input -- one line naming the value and what is accepted.
    with pytest.raises(ConfigError) as excinfo:
        PercolationExperiment().validate_grid(grid)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(("options", "message"), [
    ({"observable": {"wrapping": "diagonal"}},
     "observable.wrapping = 'diagonal': expected one of 'horizontal', 'vertical', 'either', 'both'"),
    ({"sampling": {"n_samples": 0}}, "sampling.n_samples = 0: expected an integer > 0"),
])
def test_bad_options_are_one_line_errors(options, message):
    # Truth: option validation names the bad key and value and the accepted ones.
    with pytest.raises(ConfigError) as excinfo:
        PercolationExperiment(options)
    assert str(excinfo.value) == message


# -- end to end: sweep + finite-size scaling through the command line -------------------------
FSS_P = [round(0.56 + 0.005 * k, 3) for k in range(14)]  # 0.560 ... 0.625 around p_c
FSS_L = [16, 32, 64, 128]
FSS_RUNS = 2000


def statmech_nn_cli(*args: str, env: dict[str, str]) -> str:
    """Run ``python -m statmech_nn ARGS`` in a fresh process (entry points discovered anew)."""
    done = subprocess.run([sys.executable, "-m", "statmech_nn", *args], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("percolation_cli")
    return root, {**os.environ, "STATMECH_NN_DATA": str(root / "data")}


@pytest.fixture(scope="module")
def percolation_sweep(cli_env, tmp_path_factory):
    """The (p, L) sweep of the FSS test, made once by `statmech-nn sweep` (~30 s). Its cells go
    to the session's shared percolation cache, where the same grid of
    ``tests/test_fss_physics.py`` finds them (same configuration, same numbers)."""
    root, env = cli_env
    out = root / "percolation.nc"
    statmech_nn_cli("sweep", "--experiment", "percolation", "--no-progress",
                    "--grid", "p=" + ",".join(map(str, FSS_P)), "--grid", "L=" + ",".join(map(str, FSS_L)),
                    "--set", f"sampling.n_samples={FSS_RUNS}",
                    "--cache-dir", str(tmp_path_factory.getbasetemp() / "percolation_cache"), "-o", str(out), env=env)
    return out


def test_fss_through_the_cli_recovers_p_c_and_nu(percolation_sweep, cli_env):
    # Truth: p_c = 0.592746 (Newman-Ziff 2001) and nu = 4/3 (exact).  The wrapping probability
    # obeys R = f((p - p_c) L^(1/nu)) with no size prefactor, so a is not fitted.  Tolerances
    # (docs/percolation.md, measured on this grid with two seeds): p_c's posterior spread is a
    # few 1e-4, so 0.002; nu has a statistical spread of 0.02-0.06 plus a corrections-to-scaling
    # bias of up to ~0.08 when small lattices dominate, so 0.1 -- still far from nu = 1 or 1/2.
    _, env = cli_env
    out = statmech_nn_cli("analyze", "fss", str(percolation_sweep), "--var", "wrapping",
                          "--err", "wrapping_err", "--size", "L", "--control", "p",
                          "--form", "second_order", "--json", env=env)
    summary = json.loads(out.strip().splitlines()[-1])
    p_c, nu = summary["params"]["p_c"]["median"], summary["params"]["nu"]["median"]
    assert abs(p_c - P_C) <= 0.002, summary["params"]["p_c"]
    assert abs(nu - NU) <= 0.1, summary["params"]["nu"]
    assert summary["convergence"]["converged"], summary["convergence"]


def test_sweep_file_has_the_contract_and_the_crossing(percolation_sweep):
    # Truth: the dataset contract (CF attributes, coordinates as gridded) and the physics seen
    # directly in the file: R rises with p at every L, and curves of different L cross near p_c
    # (R of the largest L is below that of the smallest at p = 0.56 and above it at 0.625).
    from statmech_nn.io import read_netcdf
    from statmech_nn.schema import validate_dataset

    ds = read_netcdf(percolation_sweep)
    validate_dataset(ds, required_vars=("wrapping", "wrapping_err", "n_samples"))
    assert ds["p"].values.tolist() == FSS_P and ds["L"].values.tolist() == FSS_L
    assert ds["n_samples"].values.tolist() == [FSS_RUNS] * len(FSS_L)
    R = ds["wrapping"].transpose("p", "L").values
    assert np.all(np.diff(R, axis=0) > 0)
    assert R[0, -1] < R[0, 0] and R[-1, -1] > R[-1, 0]
    assert json.loads(ds.attrs["config_json"])["options"]["sampling"]["n_samples"] == FSS_RUNS


# -- sizes bounded by the memory that exists (issue 11) ---------------------------------------
def test_a_lattice_too_large_for_memory_is_a_one_line_error():
    # Truth: L = 100000 needs 24 bytes x 1e10 nodes = 224 GiB for one run, more than this
    # machine has (it used to raise MemoryError from numpy asking for 37 GiB); the message
    # gives the need, what is available and the largest L that fits.
    with pytest.raises(ConfigError) as excinfo:
        PercolationExperiment().validate_grid({"p": [0.5], "L": [100000]})
    message = str(excinfo.value)
    assert message.startswith("grid L = 100000: one Newman-Ziff run needs 223.5 GiB of memory, ")
    assert "\n" not in message and "GiB are available; expected L <= " in message
    # the bound itself: with 1 GiB available, L = 6688 (0.99998 GiB) fits and L = 6689 does not
    check_fits(6688, 2**30)
    with pytest.raises(ConfigError, match=r"grid L = 6689: .* 1.0 GiB are available; expected L <= 6688$"):
        check_fits(6689, 2**30)


def test_memory_needed_is_what_a_run_allocates():
    # Truth: the peak of numpy's allocations (traced by tracemalloc) while running one batch of
    # runs equals BYTES_PER_NODE per node of the batch, within 15 % (small temporaries of the
    # union-find steps on top); if the arrays of _run_batch change, this fails and the bound
    # must be updated.
    import tracemalloc

    from statmech_percolation.newman_ziff import _run_batch, memory_needed

    L, runs = 64, 40
    tracemalloc.start()
    _run_batch(L, runs, np.random.default_rng(0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert memory_needed(L) * runs <= peak <= 1.15 * memory_needed(L) * runs, (peak, memory_needed(L) * runs)
