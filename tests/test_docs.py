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


def test_writing_plugins_gives_the_real_shape_of_option():
    # the page once showed a shape Option never had; every field must appear in its signature line
    import dataclasses

    from statmech_nn.options import Option

    text = (DOCS / "writing_plugins.md").read_text()
    line = text[text.index("`statmech_nn.Option(") :].split("`")[1]
    names = [f.name for f in dataclasses.fields(Option)]
    assert line.startswith(f"statmech_nn.Option({', '.join(names[:3])}, ")
    for name in names[3:]:
        assert f"{name}=" in line, (name, line)
