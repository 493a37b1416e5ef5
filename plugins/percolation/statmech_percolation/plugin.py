"""Hook implementations of the percolation plugin (entry point group ``statmech_nn``)."""

from statmech_nn.hookspecs import hookimpl


@hookimpl
def register_experiments():
    from .experiment import PercolationExperiment

    return [PercolationExperiment]
