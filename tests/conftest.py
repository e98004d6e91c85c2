"""pytest set-up shared by every test: absl flags must be parsed before tf.test helpers run."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite pins hand-computed numbers with TensorFlow's reference CPU kernels (oneDNN's differ
# in rounding); tests/models/bagnet/test_onednn.py runs the oneDNN paths in subprocesses.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# XLA-compiled test steps run once: LLVM's optimisation would only add compile time.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

from absl import flags  # noqa: E402

if not flags.FLAGS.is_parsed():
    flags.FLAGS(["pytest"])


def pytest_collection_modifyitems(config, items):
    """Drops `tf.test.TestCase.test_session`, a TF1 helper that pytest would report as skipped."""
    items[:] = [item for item in items if item.name != "test_session"]
