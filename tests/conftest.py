"""Fixtures shared by all tests."""

import pytest
from helpers import REALDATA


@pytest.fixture
def realdata():
    if not REALDATA.is_dir():
        pytest.skip("shared real data (../shared/realdata) not present")
    return REALDATA
