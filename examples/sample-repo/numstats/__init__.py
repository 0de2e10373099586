"""Small summary statistics over lists of numbers."""

from numstats.summary import mean, median, spread

__all__ = ["mean", "median", "spread"]
