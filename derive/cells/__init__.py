"""Cells from the lectures, each defined with the public `derive.Cell` API."""

from .rnn import rnn

__all__ = ["rnn"]
