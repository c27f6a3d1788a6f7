"""ecco: a P2P communication layer for AI agents."""

__version__ = "0.1.0"
