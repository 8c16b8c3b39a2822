"""The error of an export that cannot be done as asked."""

from seqkit.errors import SeqkitError


class ExportError(SeqkitError):
    """A model that a format cannot hold, or an output path that cannot be written."""
