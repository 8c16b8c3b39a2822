"""seqkit's built-in plugins, installed as ``seqkit_plugins``.

They register through the entry point group ``seqkit``, the path a third-party plugin takes.
"""
