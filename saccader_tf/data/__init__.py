"""Data sources: cluttered MNIST (offline default), TFDS datasets and image folders.

Every source is a `DataSource` whose training epochs (`train_epoch(epoch, skip_batches)`) and
`eval` dataset yield `(float32 [B, S, S, C], int32 [B])`; `make_source(name, ...)` picks the
source from a name. How images become inputs is the preprocessing recipe
(`saccader_tf.data.preprocessing`), whose evaluation half `preprocess_for_eval` the export reuses.
"""

from saccader_tf.data.batches import eval_batches, train_batches
from saccader_tf.data.cluttered_mnist import (
    cluttered_mnist_source,
    default_num_clutter,
    make_cluttered_mnist,
)
from saccader_tf.data.decoded_cache import DecodedCache
from saccader_tf.data.image_decoding import ImageFiles, decode_image_file
from saccader_tf.data.image_file_check import IMAGE_EXTENSIONS, image_file_problem
from saccader_tf.data.image_folder import image_folder_source
from saccader_tf.data.image_folder_listing import ImageFolderListing, list_image_folder
from saccader_tf.data.mnist_digits import load_mnist_digits
from saccader_tf.data.normalization import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    default_normalization,
    normalize_images,
)
from saccader_tf.data.preprocessing import RECIPES, Recipe, preprocess_for_eval
from saccader_tf.data.registry import make_source
from saccader_tf.data.source import DataSource, fixed_epochs
from saccader_tf.data.tfds_source import tfds_source
