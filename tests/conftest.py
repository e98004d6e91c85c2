"""pytest set-up shared by every test: absl flags must be parsed before tf.test helpers run."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from absl import flags  # noqa: E402

if not flags.FLAGS.is_parsed():
    flags.FLAGS(["pytest"])


def pytest_collection_modifyitems(config, items):
    """Drops `tf.test.TestCase.test_session`, a TF1 helper that pytest would report as skipped."""
    items[:] = [item for item in items if item.name != "test_session"]
