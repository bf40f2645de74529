"""Hypothesis strategies and the one property shared by the parser fuzz tests: every input a
user or a file gives is either accepted or refused with the project's error type, in one
line (what the CLI prints before exiting 2), never a traceback."""

from __future__ import annotations

import os
import string
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# bounded: these run in the default lane on 2 shared cores; SPECKS_FUZZ_EXAMPLES=5000 hunts longer
FUZZ = settings(max_examples=int(os.environ.get("SPECKS_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | \
    st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
# text that looks like what people type: printable ASCII runs with separators, plus any text
typed = st.text(alphabet=string.printable, max_size=40) | st.text(max_size=40)


def one_line(call: Callable[[], Any], errors: type[BaseException] | tuple[type[BaseException],
             ...]) -> Any:
    """``call()``'s result, or None when it raised one of ``errors`` with a one-line, non-empty
    message; any other exception (a crash) propagates and fails the test."""
    try:
        return call()
    except errors as error:
        message = str(error.args[0] if isinstance(error, KeyError) else error)
        assert message.strip() and "\n" not in message, repr(message)
        return None


def mutate(tree: Any, path: list[Any], value: Any) -> Any:
    """``tree`` (JSON-like) with the node at ``path`` replaced by ``value``; a path step that
    does not exist adds the key (dicts) or is ignored (lists, scalars)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(tree, dict):
        key = head if not isinstance(head, int) else str(head)
        return {**tree, key: mutate(tree.get(key), rest, value)}
    if isinstance(tree, list) and tree and isinstance(head, int):
        i = head % len(tree)
        return [*tree[:i], mutate(tree[i], rest, value), *tree[i + 1:]]
    return mutate({}, path, value) if isinstance(head, str) else value


def paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a JSON-like tree, the root included."""
    out = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            out += paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            out += paths(value, (*prefix, i))
    return out


@st.composite
def edited(draw: st.DrawFn, tree: Any, new_keys: tuple[Any, ...] = ()) -> Any:
    """``tree`` (a valid file's JSON-like content) with one to three nodes replaced by any
    JSON value, some of them under a key that was not there (one of ``new_keys``, or typed)."""
    for _ in range(draw(st.integers(1, 3))):
        path = list(draw(st.sampled_from(paths(tree))))
        if draw(st.booleans()):
            path.append(draw(st.sampled_from(new_keys) | typed if new_keys else typed))
        tree = mutate(tree, path, draw(json_values))
    return tree
