from seqkit.quiet_tensorflow import import_tensorflow  # noqa: F401 (the CLI imports it here)
