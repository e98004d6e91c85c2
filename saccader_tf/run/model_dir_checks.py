"""`model_dir` names a folder that can hold a run: a local directory (existing or not), or the URL
of a file system TensorFlow knows and can reach (`saccader_tf.model_dir.files`)."""

from saccader_tf.model_dir import files
from saccader_tf.run.settings_error import ARG, SettingsError


def check_model_dir(model_dir):
    """Refuses an empty `model_dir`, a file, and a URL TensorFlow cannot use (an unknown scheme,
    a missing plug-in, an unreachable bucket): `SettingsError` in one line naming the fix."""
    if not model_dir or not model_dir.strip():
        raise SettingsError(
            f"{ARG}model_dir must name a directory, e.g. {ARG}model_dir=runs/a. "
            f"Received: {ARG}model_dir={model_dir}"
        )
    problem = files.reachability_problem(model_dir)
    if problem:
        raise SettingsError(
            f"{ARG}model_dir={model_dir} cannot be used: {problem}. "
            f"Received: {ARG}model_dir={model_dir}"
        )
    if files.exists(model_dir) and not files.isdir(model_dir):
        raise SettingsError(
            f"{ARG}model_dir={model_dir} is a file, not a directory: choose a directory "
            f"path. Received: {ARG}model_dir={model_dir}"
        )
