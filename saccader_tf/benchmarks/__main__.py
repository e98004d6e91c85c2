"""`python -m saccader_tf.benchmarks`: see `saccader_tf/benchmarks/cli.py`."""

from saccader_tf.benchmarks.cli import main

if __name__ == "__main__":
    main()
