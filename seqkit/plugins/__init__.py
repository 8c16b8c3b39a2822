"""The plugin machinery: hook specifications, loading entry points into a pluggy
manager, the guard around plugin code, and the registry that makes components by name.
"""
