"""Knowledge distillation from a larger Specks detector into a smaller one (Hinton et al.,
arXiv 1503.02531, applied to dense CenterNet maps as the survey's standard lever).

The teacher runs in eval mode, so its heatmap is already a probability map; the student's
heatmap (training mode) is logits. Heatmap: BCE of the student against the teacher's soft map.
Size and offset: L1 to the teacher's, weighted by the teacher's per-position confidence
(max over classes), so regression is only distilled where the teacher sees an object.
# NOTE: both nets must share the output stride and class count (all Specks presets do).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def distill_loss(student: tuple[Tensor, Tensor, Tensor],
                 teacher: tuple[Tensor, Tensor, Tensor]) -> Tensor:
    s_heat, s_size, s_off = student
    t_heat, t_size, t_off = (t.detach() for t in teacher)
    if s_heat.shape != t_heat.shape:
        raise ValueError(f"teacher heatmap {tuple(t_heat.shape)} does not match the student's "
                         f"{tuple(s_heat.shape)}: same stride and classes are required")
    heat = F.binary_cross_entropy_with_logits(s_heat, t_heat)
    weight = t_heat.amax(dim=1, keepdim=True)  # (N, 1, H, W)
    norm = weight.sum().clamp(min=1.0)
    # the CenterNet loss weights: 0.1 for size, 1 for offset
    reg = (0.1 * (s_size - t_size).abs() + (s_off - t_off).abs()).sum(dim=1, keepdim=True)
    return heat + (reg * weight).sum() / norm
