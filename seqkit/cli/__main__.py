"""``python -m seqkit.cli``: the same as the ``seqkit`` command."""

from seqkit.cli.main import main

main()
