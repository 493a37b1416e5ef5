"""Signals held during a block or an import (statmech_nn.interrupts): the exception comes after
the block, in plain Python, never inside it."""

from __future__ import annotations

import signal
import sys
import textwrap

import pytest

from statmech_nn.interrupts import hold_signals_during_imports, signals_held


@pytest.fixture
def python_handlers():
    """SIGINT raises KeyboardInterrupt and SIGTERM calls a recording handler, as in the command
    line (a test run started in the background inherits SIGINT as ignored); restored after."""
    calls: list[int] = []

    def on_term(signum, frame):
        calls.append(signum)
        raise SystemExit("terminated")

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_term)
    yield calls
    for signum, handler in before.items():
        signal.signal(signum, handler)


def test_a_signal_in_the_block_is_raised_after_it(python_handlers):
    # Truth: the block runs to its end although SIGINT came in its middle, and the
    # KeyboardInterrupt is raised on leaving it; the handlers are the original ones afterwards.
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held():
            signal.raise_signal(signal.SIGINT)
            reached.append("end of block")
    assert reached == ["end of block"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_signal_no_exception_and_the_handlers_come_back(python_handlers):
    term = signal.getsignal(signal.SIGTERM)
    with signals_held():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # held meanwhile
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is term


def test_each_signal_is_handled_once_in_the_order_it_came(python_handlers):
    # Truth: SIGTERM twice, then SIGINT: SIGTERM's handler runs once, first, and its exception
    # ends the block's aftermath (SIGINT's KeyboardInterrupt is not raised over it).
    with pytest.raises(SystemExit, match="terminated"):
        with signals_held():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)
    assert python_handlers == [signal.SIGTERM]


def test_an_ignored_signal_stays_ignored(python_handlers):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with signals_held():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_nested_block_hands_its_signal_to_the_enclosing_one(python_handlers):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with signals_held():
            with signals_held():
                signal.raise_signal(signal.SIGINT)
            reached.append("after the inner block")
    assert reached == ["after the inner block"]


def write_module(folder, name: str, body: str) -> None:
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def test_an_interrupt_during_a_held_import_comes_after_the_module_has_run(python_handlers, tmp_path, monkeypatch):
    # Truth: a module that receives SIGINT in the middle of its import runs to its end when its
    # import is held (the marker file its last line writes exists) and the KeyboardInterrupt
    # comes from the import statement; without the hook the same module stops at the signal.
    # A module imported calmly keeps its own loader (the hook leaves no trace).
    body = """
        import pathlib, signal
        signal.raise_signal(signal.SIGINT)
        pathlib.Path(__file__).with_suffix(".ran").write_text("to the end")
    """
    write_module(tmp_path, "smn_hold_free", body)
    write_module(tmp_path, "smn_hold_held", body)
    write_module(tmp_path, "smn_hold_calm", "VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    hook = hold_signals_during_imports(["smn_hold_held", "smn_hold_calm"])
    try:
        with pytest.raises(KeyboardInterrupt):
            import smn_hold_free  # noqa: F401
        assert not (tmp_path / "smn_hold_free.ran").exists()
        with pytest.raises(KeyboardInterrupt):
            import smn_hold_held  # noqa: F401
        assert (tmp_path / "smn_hold_held.ran").read_text() == "to the end"
        import smn_hold_calm
        assert smn_hold_calm.VALUE == 1
        assert type(smn_hold_calm.__loader__).__name__ == "SourceFileLoader"
        assert smn_hold_calm.__spec__.loader is smn_hold_calm.__loader__
    finally:
        sys.meta_path.remove(hook)
        for name in ("smn_hold_free", "smn_hold_held", "smn_hold_calm"):
            sys.modules.pop(name, None)
