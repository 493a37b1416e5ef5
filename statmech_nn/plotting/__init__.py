"""Figures of statmech_nn (matplotlib, no pyplot state: each function returns a
``matplotlib.figure.Figure`` or draws into the axes it is given).

Axis labels come from CF attributes through :func:`statmech_nn.plotting.labels.axis_label`.
"""

from .alpha_profile import plot_alpha_profile
from .collapse import plot_collapse
from .corner import plot_corner
from .labels import axis_label
from .phase_diagram import plot_phase_diagram
from .scaling_curves import plot_loss_vs_n
from .window_scan import plot_window_scan

__all__ = ["axis_label", "plot_alpha_profile", "plot_collapse", "plot_corner", "plot_loss_vs_n",
           "plot_phase_diagram", "plot_window_scan"]
