"""Lecture 2 (makemore part 1, bigrams): n-gram counts, smoothing and likelihood (ngram), the neural bigram (neural)."""
