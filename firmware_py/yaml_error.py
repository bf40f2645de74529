"""One line for a YAML syntax error. PyYAML's ``str(error)`` spans several lines (the problem,
then a quoted excerpt with a caret under the column), which breaks the rule that bad input is
reported in one line; its ``problem`` and ``problem_mark`` carry the same facts."""

from __future__ import annotations

import yaml


def yaml_problem(error: yaml.YAMLError) -> str:
    """``line L, column C: <problem>`` (1-based), or the error's first line when PyYAML gave
    no position."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
    context = getattr(error, "context", None)
    text = f"{context}: {problem}" if context else problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {text}" if mark else text
