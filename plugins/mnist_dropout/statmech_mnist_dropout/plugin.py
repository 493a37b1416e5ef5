"""Hook implementations registering the ``mnist_dropout`` experiment and the ``mnist`` data source."""

from statmech_nn.hookspecs import hookimpl

from .experiment import MnistDropoutExperiment
from .mnist import MnistSource


@hookimpl
def register_experiments():
    return [MnistDropoutExperiment]


@hookimpl
def register_datasets():
    return [MnistSource]
