"""statmech_percolation: a statmech_nn experiment plugin with exactly known physics.

2D site percolation on periodic L×L square lattices (Newman–Ziff algorithm), emitting the
probability that a cluster wraps the torus over a grid of (p, L).  Its critical point
p_c = 0.592746... and exponent nu = 4/3 are known, which anchors the finite-size-scaling
analysis of statmech_nn.  Registered through the entry point
``[project.entry-points.statmech_nn] percolation = "statmech_percolation.plugin"``.
"""

__version__ = "0.1.0"
