"""Beyond the lectures: the model zoo of makemore.py (bigram, MLP, RNN, GRU, bag of words,
Transformer) re-implemented in the lectures' plain style, on makemore.py's data handling."""
