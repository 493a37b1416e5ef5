"""Hook implementations of the O(n) plugin (entry point group ``statmech_nn``)."""

from statmech_nn.hookspecs import hookimpl


@hookimpl
def register_experiments():
    from .experiment import IsingExperiment, XYExperiment

    return [XYExperiment, IsingExperiment]
