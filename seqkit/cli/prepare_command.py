"""``seqkit prepare``: encode a corpus once into a token file (``seqkit.data.token_files``).

seqkit prepare enwik8 --tokens byte --out data/enwik8.tokens
seqkit prepare ptb.train.txt --tokens word --vocab-size 10000      # into seqkit's cache
"""

from __future__ import annotations

import time

import click

from seqkit.data.tokenisation import TOKENISATIONS


@click.command("prepare")
@click.argument("corpus", nargs=-1, required=True, type=click.Path())
@click.option(
    "--tokens",
    type=click.Choice(TOKENISATIONS),
    default="char",
    show_default=True,
    help="Characters, UTF-8 bytes, or whitespace-separated words with <eos> at line ends.",
)
@click.option(
    "--vocab-size", type=int, default=10000, show_default=True, help="word: the most frequent."
)
@click.option(
    "--out",
    type=click.Path(),
    default=None,
    help="The token file's folder [the cache's, which a run of this corpus reuses].",
)
def prepare_command(corpus, tokens, vocab_size, out) -> None:
    """Encode CORPUS (text files or folders of them, in order) into a token file that
    task.corpus can name; without --out, into seqkit's cache, where a run finds it."""
    from seqkit.data.token_files import cached_token_file, prepare_token_file

    started = time.perf_counter()
    sources = list(corpus)
    if out is None:
        made = cached_token_file(sources, tokens, vocab_size)
    else:
        made = prepare_token_file(sources, out, tokens, vocab_size)
    seconds = time.perf_counter() - started
    size = sum(s["size"] for s in made.record["sources"])
    click.echo(
        f"{made.path}: {len(made):,} {tokens} tokens ({made.ids.dtype.name}) of "
        f"{size / 1e6:,.1f} MB, a vocabulary of {len(made.vocabulary):,}, in {seconds:.1f} s"
    )
