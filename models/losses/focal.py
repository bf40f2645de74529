"""CenterNet's penalty-reduced pixel-wise focal loss (Zhou et al., "Objects as Points",
arXiv 1904.07850, Sec. 3, Eq. 1; after CornerNet, arXiv 1808.01244, Sec. 3.2):

    L_k = -1/N * sum_xyc { (1 - p)^alpha * log(p)                 if Y_xyc = 1
                         { (1 - Y)^beta * p^alpha * log(1 - p)    otherwise

with alpha = 2, beta = 4 and N the number of keypoints (cells where the target is exactly 1).

Choices of ours:

- NOTE: the loss takes logits and uses ``log p = logsigmoid(x)`` and
  ``log(1 - p) = logsigmoid(-x)``, which are finite for every logit, instead of the released
  code's clamp of ``p`` to ``[1e-4, 1 - 1e-4]``.
- With no keypoint in the batch (N = 0) the sum is divided by 1, i.e. only the negative term
  remains (as in the released code).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def centernet_focal_loss(logits: Tensor, target: Tensor, alpha: float = 2.0,
                         beta: float = 4.0) -> Tensor:
    """Focal loss of heatmap ``logits`` against a Gaussian ``target`` in ``[0, 1]`` (same
    shape), summed and divided by the number of keypoints."""
    logits, target = logits.float(), target.float()
    p = logits.sigmoid()
    pos = target.eq(1.0)
    pos_term = (1 - p).pow(alpha) * F.logsigmoid(logits)
    neg_term = (1 - target).pow(beta) * p.pow(alpha) * F.logsigmoid(-logits)
    loss = torch.where(pos, pos_term, neg_term).sum()
    return -loss / pos.sum().clamp(min=1)
