"""Example listeners and organism files; each one is run by a test so the docs cannot rot."""
