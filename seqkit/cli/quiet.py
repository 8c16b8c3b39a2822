"""Import TensorFlow without its native start-up lines.

TensorFlow's C++ runtime writes lines such as "oneDNN custom operations are on" and "Could not
find cuda drivers" to the process's standard error before its log settings are read, so
``TF_CPP_MIN_LOG_LEVEL`` cannot hide them. The CLI imports TensorFlow once, here, with file
descriptor 2 pointed at a temporary file; if the import fails, what it wrote is shown with the
error. ``SEQKIT_TF_LOGS=1`` shows the lines as they come.
"""

from __future__ import annotations

import os
import sys
import tempfile


def import_tensorflow() -> None:
    """Import TensorFlow (and list its devices) with native standard error held back."""
    if "tensorflow" in sys.modules or os.environ.get("SEQKIT_TF_LOGS"):
        import tensorflow  # noqa: F401

        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # the CUDA probe logs on first use
        except BaseException:
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
