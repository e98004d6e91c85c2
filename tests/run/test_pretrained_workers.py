"""`--bagnet_weights` under multi-worker training, in process with the task roles given by hand:
only the chief writes stage 1's file and `origin.json` (the record first); a worker that imports
stage 1 holds it in memory (the run does not read the chief's file then), a worker that finds the
chief's file finds its record too. Every interleaving of the chief's two writes gives the workers
the same weights."""

import os

import numpy as np
import pytest
import torch

from saccader_tf.model_dir import stage_files
from saccader_tf.models.bagnet.brendel_layout import BRENDEL_BAGNET_KWARGS
from saccader_tf.models.saccader.saccader import Saccader
from saccader_tf.run import pretrained_start
from saccader_tf.run.pretrained_start import origin_path, read_origin, start_from_weights
from saccader_tf.run.settings import RunSettings
from tests.support.torch_bagnet import TorchBagNet


def _model():
    model = Saccader(
        num_classes=2,
        image_size=64,
        variant="bagnet9",
        input_channels=3,
        num_glimpses=2,
        bagnet_kwargs=dict(BRENDEL_BAGNET_KWARGS),
    )
    model.build()
    return model


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    torch.manual_seed(0)
    state = {k: t.numpy() for k, t in TorchBagNet("bagnet9", 2).state_dict().items()}
    path = str(tmp_path_factory.mktemp("weights") / "two.npz")
    np.savez(path, **state)
    return path


def _settings(weights_file, model_dir):
    return RunSettings(model="bagnet9", bagnet_weights=weights_file, model_dir=str(model_dir))


def _same_weights(a, b):
    for x, y in zip(a.representation.get_weights(), b.representation.get_weights(), strict=True):
        np.testing.assert_array_equal(x, y)


def test_workers_import_in_memory_and_only_the_chief_writes(weights_file, tmp_path, monkeypatch):
    settings = _settings(weights_file, tmp_path / "run")
    worker = _model()
    assert start_from_weights(settings, worker, 2, 1, chief=False) is True
    assert not os.path.exists(settings.model_dir)  # a worker writes nothing under model_dir

    saves = []
    original_save = stage_files.save_stage

    def save_after_the_record(model, model_dir, stage):
        saves.append(os.path.exists(origin_path(model_dir)))
        return original_save(model, model_dir, stage)

    monkeypatch.setattr(pretrained_start.stage_files, "save_stage", save_after_the_record)
    chief = _model()
    assert start_from_weights(settings, chief, 2, 1, chief=True) is True
    assert saves == [True]  # origin.json was written before stage 1's file
    assert read_origin(settings.model_dir)["how"] == "imported"
    _same_weights(worker, chief)

    late = _model()  # a worker starting after the chief's writes reads the complete file
    assert start_from_weights(settings, late, 2, 1, chief=False) is False
    stage_files.restore_stage(late, settings.model_dir, 1, "the command")
    _same_weights(late, chief)


def test_a_worker_between_the_chiefs_two_writes_imports_in_memory(weights_file, tmp_path):
    settings = _settings(weights_file, tmp_path / "run")
    chief = _model()
    start_from_weights(settings, chief, 2, 1, chief=True)
    os.remove(stage_files.stage_weights_path(settings.model_dir, 1))  # the record, no file yet
    worker = _model()
    assert start_from_weights(settings, worker, 2, 1, chief=False) is True
    _same_weights(worker, chief)
    assert not os.path.exists(stage_files.stage_weights_path(settings.model_dir, 1))
