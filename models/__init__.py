"""Specks host half: blocks, networks, data, training, evaluation and pruning (PyTorch)."""
