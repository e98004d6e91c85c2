"""pytest set-up shared by every test: absl flags must be parsed before tf.test helpers run."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow 2.21's oneDNN kernels corrupt memory (segfault / "double free") in a BagNet stage-1
# step on some CPUs (AMD EPYC with AVX-512 BF16, where TensorFlow turns them on by default):
# the suite runs without them, as the launcher and the benchmark do unless the user opts in.
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
