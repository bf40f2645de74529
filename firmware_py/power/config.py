"""The board profile's ``power`` section: the sensor (a plugin config, or ``auto``), the budget
the governor holds, its frame-rate floor, and the coefficients of the CPU-utilisation estimate
that stands in when the sensor is missing or fails.

Schema only, beside the sensor interface (:mod:`.base`): the board profile imports this, the
sensors never import the profile.
"""

from __future__ import annotations

from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from firmware_py.power.base import SENSOR_TYPES, sensor_class
from firmware_py.power.estimate import EstimateConfig


def power_config_union() -> Any:
    """Every sensor config plus ``auto``, discriminated by ``type`` (the board's
    ``power.sensor``)."""
    from firmware_py.power.auto import AutoConfig

    configs = tuple(sensor_class(key).config_cls for key in SENSOR_TYPES) + (AutoConfig,)
    return Annotated[Union[configs], Field(discriminator="type")]  # noqa: UP007


class PowerConfig(BaseModel):
    """The board's power sensor and budget, read by telemetry and the governor."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensor: power_config_union() = Field(  # type: ignore[valid-type]
        default_factory=lambda: {"type": "auto"}, validate_default=True,
        description="power sensor (a power plugin config with its 'type', or 'auto' to "
        "detect); a missing or failing one degrades to the estimate")
    budget_w: float | None = Field(None, gt=0.0, le=1000.0, description="power budget the "
                                   "governor holds, watts; null = no budget (--power-budget "
                                   "overrides)")
    min_fps: float = Field(1.0, ge=0.0, le=240.0, description="frame rate the governor never "
                           "goes below, even over budget; 0 = no floor")
    estimate: EstimateConfig = Field(default_factory=EstimateConfig, description="coefficients "
                                     "of the CPU-utilisation estimate: used when sensor is "
                                     "'estimate', when 'auto' finds none, and as the fallback")

    @model_validator(mode="after")
    def _coefficients_in_one_place(self) -> PowerConfig:
        if self.sensor.type == "estimate" and self.sensor.model_fields_set - {"type"}:
            raise ValueError("with sensor type 'estimate', set its coefficients under "
                             "power.estimate, not power.sensor")
        return self
