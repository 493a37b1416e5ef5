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


def test_plugin_without_name_is_rejected():
    class Nameless:
        @hookimpl
        def register_experiments(self):
            return [object]

    registry = PluginRegistry(load_entry_points=False)
    registry.register_plugin(Nameless(), "nameless")
    with pytest.raises(PluginError, match="nameless"):
        registry.experiments()


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
