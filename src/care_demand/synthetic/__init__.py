"""The built-in synthetic example council (Dorset-like, every child invented).

- :func:`load_ground_truth` reads the model the example is drawn from (hazards, placement
  shares, arrival rates) from ``ground_truth.yaml``.
- :func:`generate` simulates the council and returns a :class:`SyntheticCouncil`: its true
  spells and arrivals (EventHistory schema) and the council files it writes.
- :func:`write_example` regenerates the shipped files (``care-demand-example`` on the command
  line).
"""

from care_demand.synthetic.generate import SyntheticCouncil, generate, write_example
from care_demand.synthetic.truth import GroundTruth, load_ground_truth

__all__ = ["GroundTruth", "SyntheticCouncil", "generate", "load_ground_truth", "write_example"]
