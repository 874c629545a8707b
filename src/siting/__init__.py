"""siting: public-transport access to police front counters and DWO hub siting."""

__version__ = "0.1.0"

