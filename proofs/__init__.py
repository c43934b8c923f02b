"""Lecture derivations written with the public derive API."""
