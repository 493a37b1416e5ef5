"""The public API a newcomer sees: every name in ``__all__`` of statmech_nn, statmech_nn.analysis
and statmech_nn.plotting resolves, and the quick start's names are there."""

import importlib
import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["statmech_nn", "statmech_nn.analysis", "statmech_nn.plotting",
                                     "statmech_nn.testing"])
def test_every_public_name_resolves(package):
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
        assert name in dir(module)


def test_the_analyses_are_public_and_the_same_objects():
    import statmech_nn
    from statmech_nn import analysis
    from statmech_nn.analysis.phases import classify_phases
    from statmech_nn.analysis.powerlaw import fit_powerlaw
    from statmech_nn.plotting import plot_window_scan  # noqa: F401 (was missing from the package)

    assert statmech_nn.fit_powerlaw is analysis.fit_powerlaw is fit_powerlaw
    assert statmech_nn.classify_phases is classify_phases
    with pytest.raises(AttributeError, match="no attribute 'fit_everything'"):
        statmech_nn.fit_everything  # noqa: B018


def test_import_stays_light():
    code = ("import sys, statmech_nn; print(sorted(m for m in ('torch', 'lmfit', 'emcee', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
