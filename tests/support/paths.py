"""Paths the tests share."""

import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TESTS_DIR = os.path.join(REPO_ROOT, "tests")
SUPPORT_DIR = os.path.join(TESTS_DIR, "support")
