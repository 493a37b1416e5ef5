"""The toy experiment the tests use is the public one of :mod:`statmech_nn.testing`."""

from statmech_nn.testing import ToyPlugin, UniformMean  # noqa: F401
