"""The ``seqkit`` command line: one module per group of commands, joined in ``main``."""
