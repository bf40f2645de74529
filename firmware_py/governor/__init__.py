"""The power-budget governor (:mod:`.governor`) and, for tests and ``bench/governor.py``, a
plant simulator of a board running the pipeline (:mod:`.plant`)."""

from firmware_py.governor.governor import Governor, GovernorConfig, Setpoint

__all__ = ["Governor", "GovernorConfig", "Setpoint"]
