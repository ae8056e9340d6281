"""Declarative golden-vector cases; ``python -m scripts.make_vectors`` builds them."""
