"""Hook specifications of statmech_nn: the only way plugins extend the toolkit.

A plugin is a module (or object) with functions decorated by :data:`hookimpl`, registered
through the entry-point group ``statmech_nn``::

    [project.entry-points.statmech_nn]
    my_plugin = "my_package.plugin"

Every hook returns a list of *classes*; each class carries a unique ``name`` class attribute
within its kind. The plugin manager (:mod:`statmech_nn.plugins`) rejects two classes of one
kind with the same name, naming both plugins. Built-in analyzers and scaling forms are
registered through these same hooks by :mod:`statmech_nn.builtin`.
"""

import pluggy

PROJECT_NAME = "statmech_nn"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_experiments():
    """Return a list of :class:`statmech_nn.experiment.Experiment` subclasses.

    An experiment turns a grid over its dimensions plus option sections into an
    ``xarray.Dataset`` (see ``docs/data_model.md``).
    """


@hookspec
def register_analyzers():
    """Return a list of :class:`statmech_nn.analysis.base.Analyzer` subclasses.

    An analyzer maps ``(xarray.Dataset, **options)`` to a new ``xarray.Dataset`` without
    mutating its input.
    """


@hookspec
def register_scaling_forms():
    """Return a list of :class:`statmech_nn.analysis.fss.forms.ScalingForm` subclasses.

    A scaling form maps (control value, size, parameters) to the scaling variable ``x`` and the
    size factor ``L^a`` of a finite-size-scaling collapse ``y L^a = f(x)``.
    """


@hookspec
def register_datasets():
    """Return a list of :class:`statmech_nn.datasets.DataSource` subclasses.

    A data source knows how to fetch and verify one external dataset into a local directory;
    ``statmech-nn data fetch NAME`` calls it.
    """
