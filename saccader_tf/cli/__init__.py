"""The command line: `python -m saccader_tf.launch` (flags, start-up environment, error lines)
and `python -m saccader_tf.convert` (`convert.py`: weights of other projects)."""
