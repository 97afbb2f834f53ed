"""Package layout that pyproject.toml cannot express: configs/ ships as the package cdnlab_configs.

Everything else (metadata, dependencies, package data) is in pyproject.toml. configs/ stays a
top-level folder of the clone, where people look for topologies, and is also the installed
package's data, so there is one copy of each file (docs/topology.md, "Built-in topologies").
"""

from setuptools import find_namespace_packages, find_packages, setup

CODE = [
    "cdn", "edge", "origin", "sim", "loadgen", "cluster", "planner", "cli", "demo", "serving",
    "fn", "storage", "kv",
]  # fmt: skip
# Its folders (grafana/..., prometheus/) are listed too: setuptools ships a folder's files only
# as part of a package, and warns about folders it finds but was not told of.
CONFIG_FOLDERS = [f"cdnlab_configs.{name}" for name in find_namespace_packages(where="configs")]

setup(
    packages=[
        *find_packages(include=[pattern for name in CODE for pattern in (name, f"{name}.*")]),
        "cdnlab_configs",
        *CONFIG_FOLDERS,
    ],
    package_dir={"cdnlab_configs": "configs"},
)
