"""Single source of the diskcache-go version (read by setup.py with a regex)."""

__version__ = "0.1.0"
