"""Helpers of tests/docker live in docker_support.py, beside the tests that import them.

Tests import helpers from docker_support, never from conftest: several test folders have a
conftest.py, and under pytest-xdist a bare `import conftest` may find another folder's.
"""

from docker_support import *  # noqa: F403
