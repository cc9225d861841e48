"""costcompare: cost and searchability of AWS Session Manager log destinations."""

__version__ = "0.1.0"
