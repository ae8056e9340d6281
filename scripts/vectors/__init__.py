"""Declarative golden-vector cases; ``scripts/make_vectors.py`` builds them."""
