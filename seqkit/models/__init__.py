"""The models: a stack of cells unrolled by a runner (``SequenceModel``), and the
encoder-decoder (``Seq2SeqModel``) with its attention and bridge.
"""
