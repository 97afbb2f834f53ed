"""Built-in topologies, capacity plans and monitoring configs, shipped as package data.

This folder is installed as the package ``cdnlab_configs`` (setup.py maps the name onto it), so a
clone and an installed cdnlab read the same files: ``cdn.builtin`` finds them with
importlib.resources, and ``cdn init`` copies them out for editing. No code lives here.
"""
