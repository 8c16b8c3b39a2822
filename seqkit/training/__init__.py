"""Training: the ``Trainer`` and its update, the TBPTT window walk, the carried
progress, forward evaluation, data-parallel strategies and mixed precision.
"""
