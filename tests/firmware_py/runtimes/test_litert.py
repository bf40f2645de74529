"""LiteRT interpreter choice: ai-edge-litert first; the legacy tflite_runtime (same
Interpreter API) only when it is missing, with a warning about its slow int8 kernels."""

from __future__ import annotations

import logging
import sys
import types

import pytest

from firmware_py.runtimes import litert


def test_ai_edge_litert_is_preferred() -> None:
    from ai_edge_litert.interpreter import Interpreter

    assert litert.interpreter_class() is Interpreter


def test_tflite_runtime_is_the_fallback_with_a_warning(monkeypatch, caplog) -> None:
    from ai_edge_litert.interpreter import Interpreter

    # a stand-in tflite_runtime package exposing the same Interpreter API
    legacy = types.ModuleType("tflite_runtime.interpreter")
    legacy.Interpreter = Interpreter
    monkeypatch.setitem(sys.modules, "tflite_runtime", types.ModuleType("tflite_runtime"))
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", legacy)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)  # not installed
    with caplog.at_level(logging.WARNING):
        assert litert.interpreter_class() is Interpreter
    assert "15-30x slower" in caplog.text


def test_no_interpreter_at_all_names_the_package(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ImportError, match="pip install ai-edge-litert"):
        litert.interpreter_class()
