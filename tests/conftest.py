"""Shared fixtures. Real-data tests run whenever CNNLIB_DATA_DIR holds the files; under CI they must."""
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _real_data_dir():
    env = os.environ.get("CNNLIB_DATA_DIR")
    if env and (Path(env) / "mnist" / "train-images-idx3-ubyte.gz").is_file():
        return Path(env).resolve()
    return None


@pytest.fixture(scope="session")
def real_data_dir():
    """Folder holding the genuine mnist/ and fashion-mnist/ files (CNNLIB_DATA_DIR).

    Skips when absent on a developer machine, but fails under CI: there the real-data
    tests are the point, and a silent skip would hide a broken pipeline.
    """
    found = _real_data_dir()
    if found is None:
        msg = "CNNLIB_DATA_DIR is not set to a folder holding mnist/ (e.g. ../shared/data)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the real-data tests: {msg}")
        pytest.skip(msg)
    return found
