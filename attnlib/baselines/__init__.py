"""Non-neural baselines that the attention models are measured against."""

from attnlib.baselines.ngram import KneserNey, select_order

__all__ = ["KneserNey", "select_order"]
