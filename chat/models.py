"""Models: see issue 2."""
