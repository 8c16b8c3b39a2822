"""bfloat16 rounding from the bits, for references that round operands as bfloat16 kernels do."""

import numpy as np


def bfloat16_rounded(x):
    """``x`` rounded to the nearest bfloat16 (ties to even), from the bits: the top 16 of a
    float32, with the lower 16 rounded into them."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16
    return rounded.astype(np.uint32).view(np.float32)
