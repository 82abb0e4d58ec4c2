"""tfser: speech emotion recognition that learns from every rating."""

__version__ = "0.1.0"
