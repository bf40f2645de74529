"""The model as the exporters see it: eval mode, re-parameterised branches folded, tied convs
untied.

Both exporters (``export.executorch``, ``export.tflite``) call ``for_export`` before anything
else, so every artifact holds one conv where training had RepVGG branches
(``models.blocks.repconv``, arXiv 2101.03697 Sec. 3.3). A net with branches is deep-copied
first: the caller's module (and its checkpoint's state dict) stays unfolded and trainable.
Folding is exact up to float rounding (the tests hold folded to unfolded at 1e-5), so parity
checks against the unfolded eager model are unaffected.

Tied Block / Group Convolutions (``models.blocks.tied``, arXiv 2009.12021) become the
grouped convs they compute (exact): their batch-fold reshape is a transpose in the
channels-last runtimes, and litert-torch's layout pass rejects it in an int8 graph.
"""

from __future__ import annotations

import copy
import logging

from torch import nn

from models.blocks.repconv import has_branches, reparameterize_model
from models.blocks.tied import has_tied_convs, untie_model

log = logging.getLogger(__name__)


def for_export(model: nn.Module) -> nn.Module:
    """``model`` in eval mode, or an eval-mode copy with every RepVGG branch set folded and
    every tied conv untied."""
    model = model.eval()
    if not has_branches(model) and not has_tied_convs(model):
        return model
    folded = untie_model(reparameterize_model(copy.deepcopy(model)))
    log.info("folded re-parameterised branches and tied convs into single convs for export")
    return folded
