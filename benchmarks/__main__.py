"""`python -m benchmarks` (from a checkout of the repository): see `benchmarks/cli.py`."""

from saccader_tf.cli.startup import prepare_environment

if __name__ == "__main__":
    prepare_environment()  # before TensorFlow is imported
    from benchmarks.cli import main

    main()
