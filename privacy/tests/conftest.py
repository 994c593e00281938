from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def officer(directory: None, make_staff: Callable[..., Any]) -> Any:
    return make_staff("privacy_officer", None, username="privacy_officer")


@pytest.fixture
def officer2(directory: None, make_staff: Callable[..., Any]) -> Any:
    return make_staff("privacy_officer", None, username="privacy_officer2")
