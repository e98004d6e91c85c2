"""`launch/multi_worker_local.py` (not a package module) imported for the multi-worker tests."""

import importlib.util
import os

from tests.support.paths import REPO_ROOT

_spec = importlib.util.spec_from_file_location(
    "multi_worker_local", os.path.join(REPO_ROOT, "launch", "multi_worker_local.py")
)
multi_worker_local = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(multi_worker_local)
