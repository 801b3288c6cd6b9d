"""Kith: a Matrix homeserver with a built-in web messenger."""

__version__ = "0.1.0"
