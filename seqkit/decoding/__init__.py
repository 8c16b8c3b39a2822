"""Reading a model's predictions out: sampling text, greedy and beam-search
decoding of an encoder-decoder, CTC decoding, and the scores of decoded output.
"""
