"""Fixtures for tests/cluster live in cluster_support.py, beside the helpers the tests import.

Tests import helpers from cluster_support, never from conftest: several test folders have a conftest.py,
and under pytest-xdist a bare `import conftest` may find another folder's.
"""

from cluster_support import *  # noqa: F403
