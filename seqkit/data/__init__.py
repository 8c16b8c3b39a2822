"""Reading data: the bounded file reader, the vocabulary of a text, tokenisation, and
token files: a corpus encoded once and read back in windows through numpy.memmap.
"""
