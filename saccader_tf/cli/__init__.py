"""The command line: `python -m saccader_tf.launch` (flags, start-up environment, error lines)."""
