"""Non-neural baselines that the attention models are measured against.

- :mod:`~attnlib.baselines.ngram`: interpolated Kneser-Ney (next_state);
- :mod:`~attnlib.baselines.classic`: majority class, TF-IDF + LinearSVC, 1-NN Euclidean
  (classify);
- :mod:`~attnlib.baselines.forecast`: seasonal naive, Holt-Winters (forecast).
"""

from attnlib.baselines.ngram import KneserNey, kneser_ney_baseline, select_order

__all__ = ["KneserNey", "kneser_ney_baseline", "select_order"]
