"""Fixtures for tests/demo live in demo_support.py, beside the helpers the tests import.

Tests import helpers from demo_support, never from conftest: several test folders have a conftest.py,
and under pytest-xdist a bare `import conftest` may find another folder's.
"""

from demo_support import *  # noqa: F403
