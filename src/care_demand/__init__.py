"""care_demand: demand, placement sufficiency and budget forecasting for children's services."""

from __future__ import annotations

import os
import sys

__version__ = "0.1.0"

__all__ = ["PORTABLE_NUMPY", "__version__", "numpy_is_portable"]

# The same inputs, settings and seed give the same outputs on every machine. numpy chooses its
# loops for exp, log, power and other functions by the processor, and its AVX-512 loops round
# some results differently in the last digit from the AVX2 loops most machines run; a last
# digit of a rate can change a simulated count. So numpy is told to use the AVX2 loops. This
# holds wherever numpy is first imported after care_demand: the command-line tools, the app
# and the worker processes they start (which inherit the setting). A setting of the variable
# made before is kept. ``numpy_is_portable`` tells whether it holds in this process.
PORTABLE_NUMPY: dict[str, str] = {"NPY_DISABLE_CPU_FEATURES": "X86_V4,AVX512_ICL,AVX512_SPR"}

if "numpy" not in sys.modules:
    for _name, _value in PORTABLE_NUMPY.items():
        os.environ.setdefault(_name, _value)


def numpy_is_portable() -> bool:
    """Whether numpy in this process runs the loops other machines run (no AVX-512 loops).

    False where numpy was imported before care_demand on a processor with AVX-512 (in a
    notebook, say): results may then differ in their last digits from other machines'. Start
    Python with the environment variables of ``PORTABLE_NUMPY`` set to make them agree.
    """
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # another numpy layout: nothing to tell
        return True
    return not (__cpu_features__.get("X86_V4") or __cpu_features__.get("AVX512_SKX"))
