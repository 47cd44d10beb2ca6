"""Fixtures shared by the differential tests against torch and tensorboardX."""

from __future__ import annotations

import pytest

# tb_reading's asserts compare the two logdirs: give them pytest's detailed messages.
pytest.register_assert_rewrite("tb_reading")
