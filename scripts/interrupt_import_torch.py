"""How often a Ctrl-C during ``import torch`` aborts the process, with and without the hold of
:mod:`statmech_nn.interrupts`: the numbers quoted in that module's docstring.

Each try starts ``python -c "import torch"`` (or the same after
``hold_signals_during_imports()``), sends it SIGINT at a uniformly random moment in the first
``--span`` seconds (about the import's length on the machine; check with ``time python -c
"import torch"``), four tries at a time, and counts how it ended: -2 is Python's KeyboardInterrupt
(the expected end), -6 an abort (SIGABRT, "terminate called after throwing an instance of
'pybind11::error_already_set'"), 0 an import that finished before the signal::

    python scripts/interrupt_import_torch.py [--tries 200] [--span 2.5] [--seed 0]

Prints one line per variant: the exit statuses and their counts. Aborts are rare (about 1 in
70 interrupts on a 2-core machine under load), so a few hundred tries are needed to see any.
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from statmech_nn.testing import interruptible

VARIANTS = {
    "plain": "import torch",
    "held": "from statmech_nn.interrupts import hold_signals_during_imports; hold_signals_during_imports(); "
            "import torch",
}


def interrupted_import(code: str, delay: float) -> int:
    """The exit status of ``python -c code`` sent SIGINT after ``delay`` seconds."""
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL, preexec_fn=interruptible)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=200, help="interrupts per variant (default 200)")
    parser.add_argument("--span", type=float, default=2.5, help="latest moment of the interrupt, seconds (2.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the moments (0)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    delays = [rng.uniform(0.05, args.span) for _ in range(args.tries)]
    for name, code in VARIANTS.items():
        with ThreadPoolExecutor(4) as pool:
            counts = collections.Counter(pool.map(lambda d: interrupted_import(code, d), delays))
        print(f"{name}: " + ", ".join(f"exit {status}: {n}" for status, n in sorted(counts.items()))
              + f" (aborts: {counts.get(-signal.SIGABRT, 0)} of {args.tries})", flush=True)


if __name__ == "__main__":
    main()
