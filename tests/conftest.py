"""Shared test settings: quiet TensorFlow, and a fresh default registry for each test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_default_registry():
    """Tests that change the environment (SEQKIT_DISABLE_PLUGINS, fake plugins) see it."""
    from seqkit.registry import default_registry

    default_registry.cache_clear()
    yield
    default_registry.cache_clear()
