"""The launcher's exit codes for problems it reports in one line (docs/reliability.md).

No imports: `launch/multi_worker_local.py` reads them without loading TensorFlow.
"""

USER_ERROR = 2
"""A problem the user can fix: a setting, the data, the files in model_dir, a full disk."""

DIVERGED = 3
"""Training diverged: a non-finite loss or weight."""

PEER_STOPPED = 4
"""Another worker of the cluster stopped, so this one cannot go on."""
