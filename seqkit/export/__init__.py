"""Exporting a trained model for use outside seqkit.

    saved_model   ``export_saved_model(model, vocabulary, out)``: a TensorFlow SavedModel with
                  signatures ``step``, ``generate``, ``initial_state`` and ``vocabulary``, that
                  ``tf.saved_model.load`` runs where seqkit is not installed
    predictor     ``export_predictor``: any other single stack, ``predict`` (and text in, labels
                  out, where the task has them: ``seqkit.ServingTerms``)
    seq2seq_export  ``export_seq2seq``: an encoder-decoder, source text in, decoded text out
                  (``decode`` greedy, ``decode_beam``), the decoding loop in the graph
    ctc_export    ``export_ctc``: a CTC model, frames in, decoded transcripts out (``decode``,
                  ``decode_beam``), beside ``predict``
    torch_format  ``torch_state_dict(model)``: the weights in ``torch.nn.LSTM``/``GRU``/``RNN``
                  names and layouts; ``to_torch_names``/``from_torch_names`` move them between
                  seqkit's names and those of a torch module with an embedding, an RNN and a head

``seqkit export RUN --format saved_model|torch OUT`` (``seqkit.cli.export_command``) writes
either from a run directory.
"""

from seqkit.export.errors import ExportError

__all__ = ["ExportError"]
