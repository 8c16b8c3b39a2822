"""Native kernels: the TensorFlow custom-op library built from the installed TensorFlow's
headers on first use (``build``: cached, locked) and loaded, or the one line that says why not
(``loading``: ``NativeLibrary``, ``NativeKernel``).
"""

from seqkit.native.loading import NativeKernel, NativeLibrary, native_enabled

__all__ = ["NativeKernel", "NativeLibrary", "native_enabled"]
