"""attnlib: LSTM / BiLSTM sequence models with masked attention, trained reproducibly."""

__version__ = "0.1.0"
