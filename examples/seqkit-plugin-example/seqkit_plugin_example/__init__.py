"""An example seqkit plugin: the minimal gated unit (``mgu``) and a Huber loss (``huber``).

Installed, it registers both through the entry point group ``seqkit``; nothing here imports
TensorFlow until seqkit loads the plugin.
"""

__version__ = "0.1.0"
