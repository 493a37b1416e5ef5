"""Every hook is documented (a hook users cannot find does not exist for them)."""

import inspect
from pathlib import Path

from statmech_nn import hookspecs

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_hook_is_documented_in_writing_plugins():
    text = (DOCS / "writing_plugins.md").read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("register_")]
    assert hooks, "no hooks found"
    for name in hooks:
        assert f"### `{name}`" in text, f"hook {name} is not documented in docs/writing_plugins.md"
