"""The built-in tasks' embedded data sets, shipped as package data, and the scripts that made
them (each writes its file again, byte for byte):

    dates.tsv        seq2seq: dates written in many human forms -> ISO 8601    make_dates.py
    transcribe.npz   transcribe: noisy frames of digit strings -> the digits   make_transcribe.py

Read them with ``importlib.resources.files("seqkit_plugins.data") / name``.
"""
