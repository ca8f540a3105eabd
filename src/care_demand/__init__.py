"""care_demand: demand, placement sufficiency and budget forecasting for children's services."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
