"""Cells from the lectures, each defined with the public `derive.Cell` API."""

from .gru import gru
from .lstm import lstm
from .rnn import rnn

__all__ = ["rnn", "lstm", "gru"]
