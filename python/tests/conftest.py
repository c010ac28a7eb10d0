"""Shared fixtures: the repository root (for tests/reference), and the CPU backend by default so
results do not depend on the machine's GPU (the GPU path has its own tests)."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def reference_dir() -> pathlib.Path:
    return ROOT / "tests" / "reference"
