"""The power-budget governor (:mod:`.governor`). Its simulation rig (a plant model of a board
and the closed loop) is host-side, in ``bench/governor_sim``."""

from firmware_py.governor.governor import Governor, GovernorConfig, Setpoint

__all__ = ["Governor", "GovernorConfig", "Setpoint"]
