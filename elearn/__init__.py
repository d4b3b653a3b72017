"""Trauma-informed e-learning for two violence reduction partnerships."""

__version__ = "0.1.0"
