"""Training losses and the target encodings they need."""

from .centernet import CenterNetLoss, CenterNetTargets, encode_targets, gaussian_radius
from .focal import centernet_focal_loss

__all__ = ["CenterNetLoss", "CenterNetTargets", "centernet_focal_loss", "encode_targets",
           "gaussian_radius"]
