"""Configs: a run's TOML config (``files``: ``Config``, ``load_config``, overrides), its keys
and allowed values (``keys``), and the options of components checked against their factories
(``options``).
"""

from seqkit.config.files import Config, load_config, parse_override

__all__ = ["Config", "load_config", "parse_override"]
