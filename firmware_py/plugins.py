"""A registry of plugins, one module per key (Frigate's ``detectors/plugins`` layout): sources,
sinks and sensors each keep one. A plugin class has a ``key`` and a pydantic ``config_cls``
whose ``type`` is ``Literal[key]``; its module is imported only when its key is first asked
for, so optional dependencies (paho, picamera2) load only where they are used."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Annotated, Any, Generic, TypeVar, Union

from pydantic import BaseModel, Field, TypeAdapter

P = TypeVar("P", bound=type)


class PluginRegistry(Generic[P]):
    def __init__(self, package: str, keys: tuple[str, ...], kind: str) -> None:
        self.package, self.keys, self.kind = package, keys, kind
        self._classes: dict[str, P] = {}

    def register(self, cls: P) -> P:
        """Class decorator used by each plugin module."""
        self._classes[cls.key] = cls  # type: ignore[attr-defined]
        return cls

    def get(self, key: str) -> P:
        """The plugin registered under ``key``, importing its module on first use."""
        if key not in self.keys:
            raise ValueError(f"unknown {self.kind} type {key!r}; expected one of {self.keys}")
        importlib.import_module(f"{self.package}.{key}")
        return self._classes[key]

    def config_union(self) -> Any:
        """The discriminated union of every plugin's config, for the device config tree."""
        configs = tuple(self.get(key).config_cls for key in self.keys)  # type: ignore[attr-defined]
        return Annotated[Union[configs], Field(discriminator="type")]  # noqa: UP007

    def create(self, config: BaseModel | Mapping[str, Any], **kwargs: Any) -> Any:
        """Build a plugin from its config (a model, or a mapping with ``type``); ``kwargs`` go
        to the plugin's constructor."""
        if isinstance(config, Mapping):
            config = TypeAdapter(self.config_union()).validate_python(dict(config))
        return self.get(config.type)(config, **kwargs)  # type: ignore[attr-defined]
