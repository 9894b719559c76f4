"""attnlib: LSTM / BiLSTM sequence models with masked attention, trained reproducibly.

``attnlib.load(bundle)`` returns a model for scoring (:mod:`attnlib.api`).
"""

__version__ = "0.1.0"
__all__ = ["load", "__version__"]


def __getattr__(name: str):
    if name == "load":  # lazily: `import attnlib` stays cheap (no torch) for the CLI
        from attnlib.api import load

        return load
    raise AttributeError(f"module 'attnlib' has no attribute {name!r}")
