"""Script for tests/models/bagnet/test_onednn.py: two stage-1 steps of `bagnet9_tiny` at 56 px,
batch 4, then a checksum of the weights. With TensorFlow's oneDNN kernels this shape used to
overflow the heap in the strided 1x1 shortcut's weight gradient (4 and 8 input channels)."""

import hashlib
import sys

import keras
import numpy as np
import tensorflow as tf

from saccader_tf.models import Saccader
from saccader_tf.training import RepresentationTrainer


def main(channels):
    keras.utils.set_random_seed(7)
    model = Saccader(
        num_classes=5, image_size=56, variant="bagnet9_tiny", input_channels=channels, seed=7
    )
    model.build()
    trainer = RepresentationTrainer(model)
    trainer.compile(optimizer=keras.optimizers.SGD(0.05))
    images = tf.random.stateless_uniform((4, 56, 56, channels), seed=(1, 2))
    labels = tf.constant([0, 1, 2, 3])
    trainer.fit(images, labels, batch_size=4, epochs=2, verbose=0)
    digest = hashlib.sha256(b"".join(np.asarray(w).tobytes() for w in model.get_weights()))
    print("weights", digest.hexdigest())


if __name__ == "__main__":
    main(int(sys.argv[1]))
