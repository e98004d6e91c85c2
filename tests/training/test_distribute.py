"""`make_strategy` refuses a device list naming a device the machine does not have (TensorFlow
would place the work elsewhere without a word)."""

import tensorflow as tf

from saccader_tf.training.distribute import check_devices, make_strategy
from saccader_tf.utils.errors import BadValueError


class DevicesTest(tf.test.TestCase):
    def test_present_devices_pass_in_any_spelling(self):
        for name in ("/cpu:0", "/CPU:0", "/device:CPU:0", "/job:localhost/replica:0/task:0/cpu:0"):
            with self.subTest(name=name):
                check_devices([name])  # no error

    def test_a_missing_gpu_is_named_with_what_is_there(self):
        with self.assertRaisesRegex(
            BadValueError, r"names /gpu:3, which this machine does not have \(it has: .*CPU:0"
        ):
            make_strategy("mirrored", ["/cpu:0", "/gpu:3"])
        with self.assertRaisesRegex(BadValueError, r"names /cpu:7"):
            check_devices(["/cpu:7"])
