"""The plugin manager: registration, duplicate names, broken and blocked plugins, listing."""

import subprocess
import sys
import warnings
from importlib import metadata

import pytest

from statmech_nn.errors import PluginError
from statmech_nn.hookspecs import hookimpl
from statmech_nn.plugins import PluginRegistry

from toy_experiment import ToyPlugin, UniformMean


def test_import_does_not_import_torch():
    # the core must stay light: torch is imported only by the MNIST plugin
    code = "import sys, statmech_nn, statmech_nn.sweep, statmech_nn.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_register_plugin_makes_its_experiment_available():
    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(ToyPlugin(), "toy")
    assert registry.experiment("toy_uniform_mean") is UniformMean
    assert "experiment" in {k for p in registry.plugins() if p.name == "toy" for k in p.registers}


@pytest.mark.filterwarnings("ignore:experiment 'toy_uniform_mean' is registered by both")  # said, and expected here
def test_duplicate_names_give_one_line_error_naming_both_plugins():
    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(ToyPlugin(), "first")
    registry.register_plugin(ToyPlugin(), "second")
    with pytest.raises(PluginError) as info:
        registry.experiments()
    message = str(info.value)
    assert "'first'" in message and "'second'" in message and "toy_uniform_mean" in message
    assert "\n" not in message


def test_unknown_name_lists_the_choices():
    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(ToyPlugin(), "toy")
    with pytest.raises(PluginError, match="unknown experiment 'nope': expected one of toy_uniform_mean"):
        registry.experiment("nope")


class _BrokenEntryPoint:
    """An entry point whose module raises on import, as a real broken plugin would."""

    name = "broken_plugin"
    value = "broken_module:plugin"
    dist = None

    def load(self):
        raise ImportError("No module named 'broken_module'")


def test_broken_plugin_is_reported_and_skipped(monkeypatch):
    real = metadata.entry_points

    def entry_points(group):
        return list(real(group=group)) + [_BrokenEntryPoint()]

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = PluginRegistry()
    assert any("broken_plugin" in str(w.message) and "No module named" in str(w.message) for w in caught)
    info = {p.name: p for p in registry.plugins()}
    assert info["broken_plugin"].error
    assert "builtin" in info  # everything else keeps working


def test_block_env_skips_named_plugins(monkeypatch):
    monkeypatch.setenv("STATMECH_NN_BLOCK_PLUGINS", "builtin, nothing_else")
    registry = PluginRegistry(load_entry_points=False)
    assert "builtin" not in {p.name for p in registry.plugins()}


def test_plugin_without_name_is_rejected_and_said():
    class Nameless:
        @hookimpl
        def register_experiments(self):
            return [object]

    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(Nameless(), "nameless")
    with pytest.warns(RuntimeWarning, match=r"plugin 'nameless' registers experiment object without a 'name' "
                                            r"\(a non-empty str class attribute\); it is skipped"):
        with pytest.raises(PluginError, match="nameless"):
            registry.experiments()
    assert {p.name: p for p in registry.plugins()}["nameless"].error


@pytest.mark.parametrize("returned, said", [
    (lambda: UniformMean(), r"returned UniformMean; expected a list of classes"),
    (lambda: [42], r"returned 42, which is not a class; expected a list of classes"),
], ids=["an-instance", "not-a-class"])
def test_a_hook_returning_other_than_classes_is_one_warning_line(returned, said):
    # Truth: the hook contract is "a list of classes"; an instance, or a list holding a number,
    # used to fail as "TypeError: 'UniformMean' object is not iterable" or register nothing
    # silently. Now the plugin's hook contributes nothing and one line says what it returned.
    class Wrong:
        @hookimpl
        def register_experiments(self):
            return returned()

    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(Wrong(), "wrong")
    with pytest.warns(RuntimeWarning, match="plugin 'wrong' failed in register_experiments.*" + said):
        assert registry.names("experiment") == []


def test_a_hook_with_the_wrong_arguments_says_which():
    # Truth: pluggy's message spans three lines; the argument it cannot match is on the last,
    # which a first-line cut used to drop.
    class Wrong:
        @hookimpl
        def register_experiments(self, registry):
            return []

    with pytest.raises(PluginError, match=r"^plugin 'wrong' is invalid: Plugin 'wrong' for hook 'register_experiments'; "
                                          r"hookimpl definition: register_experiments\(registry\); "
                                          r"Argument\(s\) \{'registry'\} are declared in the hookimpl"):
        PluginRegistry(load_entry_points=False).register_plugin(Wrong(), "wrong")


def test_an_option_default_it_does_not_accept_and_a_twice_declared_option_are_the_plugins_errors():
    # Truth: each default breaks its own declaration (check, type, choices); a sweep used to
    # run with them, while --set with the same value was refused. Found at declaration now, when
    # the plugin is imported (its registry warning names the plugin).
    from statmech_nn.options import Option, positive, resolve_options

    with pytest.raises(PluginError, match=r"^option 'k' has a default it does not accept: k = -1\.0: expected a "
                                          r"number > 0$"):
        Option("k", -1.0, "a rate", (float,), check=positive, accepted="a number > 0")
    with pytest.raises(PluginError, match=r"option 'n' has a default it does not accept: n = 'ten': expected int$"):
        Option("n", "ten", "a count", (int,))
    with pytest.raises(PluginError, match=r"mode = 'c': expected one of 'a', 'b'$"):
        Option("mode", "c", "a mode", (str,), choices=("a", "b"))
    twice = {"s": (Option("k", 1.0, "first", (float,)), Option("k", 2.0, "second", (float,)))}
    with pytest.raises(PluginError, match=r"^option section \[s\] declares 'k' twice: give each option once$"):
        resolve_options(twice, None)


def test_plugins_command_lists_installed_plugins_with_versions_and_origins(capsys):
    import json

    from statmech_nn.cli import main

    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out.strip().splitlines()[-1])}
    # the two experiment plugins are separate distributions found through their entry points
    assert listed["mnist_dropout"]["registers"]["experiment"] == ["mnist_dropout"]
    assert listed["mnist_dropout"]["registers"]["dataset"] == ["mnist"]
    assert "statmech-nn-percolation" in listed["percolation"]["origin"]
    assert set(listed["builtin"]["registers"]["scaling_form"]) == {"second_order", "bkt"}
    assert all(p["version"] not in ("", "unknown") for p in listed.values())


# -- faults of one plugin are isolated (issue 11) ----------------------------------------------
class _FakeEntryPoint:
    """An installed entry point whose module loads to ``plugin`` (a real plugin object)."""

    dist = None

    def __init__(self, name, plugin):
        self.name, self.value, self._plugin = name, f"{name}_module:plugin", plugin

    def load(self):
        return self._plugin


class _LazyImportPlugin:
    """The lazy-import pattern of docs/writing_plugins.md with a missing dependency."""

    @hookimpl
    def register_experiments(self):
        import statmech_nn_no_such_dependency  # noqa: F401

        return []


def _with_entry_points(monkeypatch, *extra):
    from statmech_nn import plugins

    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points", lambda group: [*real(group=group), *extra])
    monkeypatch.setattr(plugins, "_REGISTRY", None)  # the CLI builds a fresh process-wide registry


def test_a_raising_hook_is_one_warning_line_and_skipped_in_plugins_and_sweep(monkeypatch, capsys, tmp_path):
    from statmech_nn.cli import main

    _with_entry_points(monkeypatch, _FakeEntryPoint("lazy_broken", _LazyImportPlugin()))
    assert main(["plugins"]) == 0
    captured = capsys.readouterr()
    warning_lines = [line for line in captured.err.splitlines() if "lazy_broken" in line]
    assert len(warning_lines) == 1 and "No module named 'statmech_nn_no_such_dependency'" in warning_lines[0]
    assert "failed in register_experiments, which contributes nothing (its other hooks still count)" \
        in warning_lines[0]
    assert "Traceback" not in captured.err
    assert "percolation" in captured.out and "lazy_broken" in captured.out  # listed, with its failure

    from statmech_nn import plugins

    monkeypatch.setattr(plugins, "_REGISTRY", None)
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # a second warning of the same text in one test process
        assert main(["sweep", "--experiment", "percolation", "--grid", "p=0.5", "--grid", "L=8",
                     "--cache-dir", str(tmp_path), "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "1 cells: 0 cached, 1 to compute" in captured.out
    assert len([line for line in captured.err.splitlines() if "lazy_broken" in line]) == 1


@pytest.mark.filterwarnings("ignore:scaling form 'bkt' is registered by both")  # said again on re-collecting
def test_a_duplicate_name_does_not_block_other_names():
    # a plugin registering the built-in form name 'bkt' makes 'bkt' ambiguous, not 'second_order'
    from statmech_nn.analysis.fss.forms import BKT, SecondOrder

    class Impostor:
        @hookimpl
        def register_scaling_forms(self):
            return [type("MyBKT", (BKT,), {})]

    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(Impostor(), "impostor")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert registry.scaling_form("second_order") is SecondOrder
    assert [str(w.message).split(":")[0] for w in caught] == [
        "scaling form 'bkt' is registered by both plugin 'builtin' and plugin 'impostor'"]  # said once
    with pytest.raises(PluginError, match="'bkt' is registered by both plugin 'builtin' and plugin 'impostor'"):
        registry.scaling_form("bkt")
    # the listing still works and shows the clash under both plugins (it used to drop the name)
    listed = {p.name: p.registers["scaling_form"] for p in registry.plugins()}
    assert listed == {"builtin": ["second_order", "bkt (ambiguous: not usable)"],
                      "impostor": ["bkt (ambiguous: not usable)"]}
    registry.register_plugin(type("Empty", (), {})(), "empty")       # collected anew: nothing doubled
    assert {p.name: p.registers.get("scaling_form") for p in registry.plugins()} == {**listed, "empty": None}


def test_a_misspelled_hook_name_is_an_error():
    class Typo:
        @hookimpl
        def register_experiment(self):  # the hook is register_experiments
            return [UniformMean]

    registry = PluginRegistry(load_entry_points=False)
    with pytest.raises(PluginError, match="'register_experiment', which is no hook.*register_experiments"):
        registry.register_plugin(Typo(), "typo")
    assert "typo" not in {p.name for p in registry.plugins()}


def test_an_installed_plugin_with_a_misspelled_hook_is_reported_and_skipped(monkeypatch):
    class Typo:
        @hookimpl
        def register_experiment(self):
            return [UniformMean]

    _with_entry_points(monkeypatch, _FakeEntryPoint("typo", Typo()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = PluginRegistry()
    assert any("'typo'" in str(w.message) and "no hook" in str(w.message) for w in caught)
    assert {p.name: p for p in registry.plugins()}["typo"].error


def test_unknown_names_in_the_block_list_are_said(monkeypatch):
    monkeypatch.setenv("STATMECH_NN_BLOCK_PLUGINS", "percolation,percolaton")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = PluginRegistry()
    messages = [str(w.message) for w in caught if "STATMECH_NN_BLOCK_PLUGINS" in str(w.message)]
    assert len(messages) == 1 and "'percolaton'" in messages[0] and "'percolation'," not in messages[0]
    assert "percolation" not in {p.name for p in registry.plugins()}


def test_plugins_options_lists_an_experiments_options_with_defaults_and_docs(capsys):
    import json

    from statmech_nn.cli import main

    assert main(["plugins", "--options", "percolation"]) == 0
    out = capsys.readouterr().out
    assert "sampling.n_samples = 1000" in out and "independent Newman-Ziff runs" in out
    assert main(["plugins", "--options", "percolation", "--json"]) == 0
    rows = {(r["section"], r["name"]): r for r in json.loads(capsys.readouterr().out)}
    # truth: the experiment's own declaration
    from statmech_nn import get_registry

    spec = get_registry().experiment("percolation").options_spec
    assert set(rows) == {(s, o.name) for s, opts in spec.items() for o in opts}
    assert rows[("observable", "wrapping")]["default"] == "horizontal"
    assert main(["plugins", "--options", "nope"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
