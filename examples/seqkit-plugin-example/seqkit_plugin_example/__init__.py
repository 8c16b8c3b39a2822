"""An example seqkit plugin: the minimal gated unit (``mgu``), JANET (``janet``, a cell that
declares its recurrence and so runs fused), QRNN's fo-pooling (``qrnn``, a cell that declares a
linear recurrence and so runs on the scan runner) and a Huber loss (``huber``).

Installed, it registers them through the entry point group ``seqkit``; nothing here imports
TensorFlow until seqkit loads the plugin.
"""

__version__ = "0.1.0"
