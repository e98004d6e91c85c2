"""The predict settings on the launcher's flags: needed by --stage=predict, refused elsewhere."""

import os
import tempfile
import unittest

from tests.support.launcher_flags import flag_problem, settings_of


class PredictChecksTest(unittest.TestCase):
    def test_predict_needs_images_and_a_jsonl_or_csv_output(self):
        self.assertRegex(flag_problem(stage="predict"), r"needs --images=FILE\|DIR\|GLOB")
        self.assertRegex(
            flag_problem(stage="predict", images="photos"), r"--output=FILE ending in \.jsonl"
        )
        self.assertRegex(
            flag_problem(stage="predict", images="photos", output="p.txt"),
            r"Received: --output=p\.txt",
        )
        for output in ("p.jsonl", "out/p.CSV"):
            self.assertIsNone(flag_problem(stage="predict", images="photos", output=output))

    def test_an_output_folder_and_a_pictures_file_are_refused(self):
        with tempfile.TemporaryDirectory() as folder:
            named = os.path.join(folder, "x.jsonl")
            os.makedirs(named)
            self.assertRegex(
                flag_problem(stage="predict", images="a.png", output=named), "is a folder"
            )
            picture_file = os.path.join(folder, "pics")
            open(picture_file, "w").close()
            problem = flag_problem(
                stage="predict", images="a.png", output="p.csv", pictures_dir=picture_file
            )
            self.assertRegex(problem, "--pictures_dir=.* is a file, not a folder")

    def test_predict_flags_on_another_stage_and_a_bad_top_k_are_refused(self):
        self.assertRegex(
            flag_problem(stage="eval", images="photos", output="p.jsonl"),
            r"^--images, --output apply to --stage=predict.*Received: --stage=eval$",
        )
        self.assertRegex(
            flag_problem(stage="predict", images="a.png", output="p.csv", top_k=0),
            r"--top_k must be >= 1",
        )

    def test_the_flags_reach_the_settings(self):
        settings = settings_of(stage="predict", images="a/*.jpg", output="p.csv", top_k=2)
        self.assertEqual(
            (settings.images, settings.output, settings.pictures_dir, settings.top_k),
            ("a/*.jpg", "p.csv", None, 2),
        )


if __name__ == "__main__":
    unittest.main()
