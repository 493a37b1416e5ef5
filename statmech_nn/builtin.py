"""The built-in plugin: registers the core analyzers and scaling forms through the same hooks
a third-party plugin uses. Imports happen inside the hooks so that ``import statmech_nn``
stays light."""

from .hookspecs import hookimpl


@hookimpl
def register_analyzers():
    from .analysis.fss import FSSAnalyzer
    from .analysis.phases import PhaseAnalyzer
    from .analysis.powerlaw import PowerLawAnalyzer, PowerLawScanAnalyzer

    return [PowerLawAnalyzer, PowerLawScanAnalyzer, PhaseAnalyzer, FSSAnalyzer]


@hookimpl
def register_scaling_forms():
    from .analysis.fss.forms import BKT, SecondOrder

    return [SecondOrder, BKT]
