"""statmech_nn plugin: fully-connected networks on MNIST under dropout (the reference study).

Importing this package imports no torch; :mod:`.experiment` imports the trainer lazily.
"""

__version__ = "0.1.0"
