"""A training run: its `RunSettings` (declared once, validated the same way for the command line and
Python) and the orchestration of stages, evaluation and export.

    from saccader_tf.run import RunSettings, launch

    launch(RunSettings(model="bagnet9_tiny", image_size=28, epochs=(1, 1, 1), steps=2,
                       model_dir="runs/tiny"), "all")
"""

from saccader_tf.run.orchestrator import launch
from saccader_tf.run.settings import RunSettings, StageSettings
from saccader_tf.run.settings_error import SettingsError
