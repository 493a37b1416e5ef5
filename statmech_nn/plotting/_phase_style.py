"""How each phase code is drawn, shared by every figure that shows phases."""

from __future__ import annotations

from ..analysis.phases import PHASES, UNCLASSIFIED

#: code -> (name, colour, marker)
PHASE_STYLE: dict[int, tuple[str, str, str]] = {
    0: (PHASES[0], "tab:blue", "v"),
    1: (PHASES[1], "tab:red", "^"),
    2: (PHASES[2], "tab:gray", "x"),
    3: (PHASES[3], "tab:purple", "o"),
    UNCLASSIFIED: ("unclassified", "black", "."),
}
