import os

import pytest
import torch

# Tests are small: one thread keeps them fast and deterministic on a 2-core machine.
torch.set_num_threads(1)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
