"""`data_source` passes each kind of dataset only the options it takes: the folder options
(`cache`, `cache_budget_mb`, `skip_bad_files`) to image folders alone, never to TFDS datasets;
`evaluation_only` (what `--stage=eval` asks) to image folders and TFRecord shards."""

import contextlib
import os
import shutil
from unittest import mock

import tensorflow as tf

from saccader_tf.run import sources
from saccader_tf.run.settings import RunSettings
from tests.support.paths import REPO_ROOT


def _options_passed(settings, **kwargs):
    """The keyword arguments `data_source(settings, **kwargs)` hands to `make_source`."""
    with (
        mock.patch.object(sources, "make_source", return_value="source") as make,
        mock.patch.object(sources, "explained_download", return_value=contextlib.nullcontext()),
    ):
        returned = sources.data_source(settings, **kwargs)
    assert returned == "source", returned
    (name,), options = make.call_args
    return name, options


class DataSourceOptionsTest(tf.test.TestCase):
    def test_folder_gets_the_folder_options(self):
        name, options = _options_passed(
            RunSettings(dataset="folder:/data/x", skip_bad_files=True, cache_budget_mb=3)
        )
        self.assertEqual(name, "folder:/data/x")
        self.assertEqual(options["skip_bad_files"], True)
        self.assertEqual(options["cache_budget_bytes"], 3 * 1024 * 1024)
        self.assertEqual(options["augment"], "light")

    def test_tfds_gets_no_folder_option(self):
        for skip in (False, True):
            _, options = _options_passed(RunSettings(dataset="imagenette", skip_bad_files=skip))
            for name in ("skip_bad_files", "cache", "cache_budget_bytes"):
                self.assertNotIn(name, options)
        _, options = _options_passed(RunSettings(dataset="imagenette", background_class=True))
        self.assertTrue(options["background_class"])

    def test_cluttered_mnist_gets_its_sizes(self):
        _, options = _options_passed(RunSettings(train_examples=64, num_clutter=2, image_size=28))
        self.assertEqual(
            options,
            dict(
                image_size=28,
                batch_size=64,
                seed=0,
                data_dir=None,
                num_train=64,
                num_eval=10_000,
                num_clutter=2,
            ),
        )
        _, options = _options_passed(RunSettings(test_examples=500))
        self.assertEqual(options["num_eval"], 500)

    def test_evaluation_only_reaches_folders_and_shards(self):
        for dataset in ("folder:/data/x", "tfrecord:/data/shards"):
            _, options = _options_passed(RunSettings(dataset=dataset), evaluation_only=True)
            self.assertTrue(options["evaluation_only"], dataset)
            _, options = _options_passed(RunSettings(dataset=dataset))
            self.assertNotIn("evaluation_only", options)
        for dataset in ("cluttered_mnist", "imagenette"):  # nothing training-only to skip
            _, options = _options_passed(RunSettings(dataset=dataset), evaluation_only=True)
            self.assertNotIn("evaluation_only", options)

    def test_stage_eval_reads_its_data_for_evaluation_only(self):
        from saccader_tf.run import orchestrator

        model_dir = os.path.join(self.get_temp_dir(), "v0_2")
        shutil.copytree(os.path.join(REPO_ROOT, "tests", "data", "model_dir_v0_2"), model_dir)
        stop = RuntimeError("data_source reached")
        with mock.patch.object(orchestrator, "data_source", side_effect=stop) as data_source:
            with self.assertRaises(RuntimeError):
                orchestrator.launch(RunSettings(model_dir=model_dir, num_glimpses=2), "eval")
        self.assertEqual(data_source.call_args.kwargs, {"evaluation_only": True})
