"""Specks device half: capture, sparse-sampling inference, sinks, power and the governor.

Never imports torch, ``models`` or ``export`` (only the optional ExecuTorch backend may import
torch, lazily): a device install is numpy, a runtime and optional extras.
"""
