"""frictionkit: find where users of internal applications struggle."""

__version__ = "0.1.0"
