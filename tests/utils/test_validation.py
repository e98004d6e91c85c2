"""The one integer check (saccader_tf.utils.validation) and the grid limits it backs
(saccader_tf.models.bagnet.receptive_field.grid_side / check_cell_count)."""

import numpy as np
import tensorflow as tf

from saccader_tf.models.bagnet import receptive_field
from saccader_tf.models.bagnet.bagnet import variant_conv_stack
from saccader_tf.utils.validation import check_int, check_ints, is_int


class CheckIntTest(tf.test.TestCase):
    def test_accepts_python_and_numpy_integers(self):
        self.assertEqual(check_int("batch_size", 3), 3)
        self.assertEqual(type(check_int("batch_size", np.int64(3))), int)
        self.assertEqual(check_int("seed", 0, minimum=0), 0)
        self.assertEqual(check_ints("widths", [4, np.int32(8)]), (4, 8))

    def test_refusals_name_the_argument_the_rule_and_the_value(self):
        for value in (0, -2, 2.0, True, "3", None):
            with self.subTest(value=value):
                self.assertFalse(is_int(value))
                with self.assertRaisesRegex(
                    ValueError,
                    rf"^`batch_size` must be an integer >= 1\. Received: "
                    rf"batch_size={value!r}$".replace("(", r"\("),
                ):
                    check_int("batch_size", value)
        with self.assertRaisesRegex(
            ValueError, r"`seed` must be an integer >= 0\. Received: seed=-1"
        ):
            check_int("seed", -1, minimum=0)
        for values in ((), (4, 0), (4, 2.5), 8, (4, False)):
            with (
                self.subTest(values=values),
                self.assertRaisesRegex(
                    ValueError, r"`widths` must hold integers >= 1\. Received: widths="
                ),
            ):
                check_ints("widths", values)


class GridLimitsTest(tf.test.TestCase):
    def test_grid_side_is_the_valid_output_size(self):
        stack = variant_conv_stack("bagnet9_tiny")  # receptive field 9, stride 4
        self.assertEqual(receptive_field.grid_side(9, stack), 1)
        self.assertEqual(receptive_field.grid_side(28, stack), (28 - 9) // 4 + 1)

    def test_one_message_for_the_library_and_the_launcher(self):
        stack = variant_conv_stack("bagnet9_tiny")
        with self.assertRaisesRegex(
            ValueError,
            r"^image_size=8 is smaller than the receptive field of bagnet9_tiny "
            r"\(9 px\).*Use image_size>=9 .*Received: image_size=8$",
        ):
            receptive_field.grid_side(8, stack, model="bagnet9_tiny")
        with self.assertRaisesRegex(
            ValueError, r"^--image_size=8 is smaller .*Use --image_size>=9"
        ):
            receptive_field.grid_side(8, stack, model="bagnet9_tiny", prefix="--")
        where = dict(model="bagnet9_tiny", image_size=28)
        receptive_field.check_cell_count("num_glimpses", 25, 5, **where)  # all 25 cells: accepted
        with self.assertRaisesRegex(
            ValueError,
            r"^num_targets=26 exceeds the 25 cells of the 5x5 grid of bagnet9_tiny "
            r"at 28 px.*Use num_targets<=25.*Received: num_targets=26$",
        ):
            receptive_field.check_cell_count("num_targets", 26, 5, **where)
        with self.assertRaisesRegex(ValueError, r"`--num_glimpses` must be an integer >= 1"):
            receptive_field.check_cell_count("num_glimpses", 0, 5, prefix="--", **where)
