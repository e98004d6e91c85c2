"""Data sources: cluttered MNIST (offline default), TFDS datasets and image folders.

Every source is a `DataSource` whose training epochs (`train_epoch(epoch, skip_batches)`) and
`eval` dataset yield `(float32 [B, S, S, C], int32 [B])`; `make_source(name, ...)` picks the
source from a name.
"""

from saccader_tf.data.cluttered_mnist import cluttered_mnist_source
from saccader_tf.data.cluttered_mnist import default_num_clutter
from saccader_tf.data.cluttered_mnist import make_cluttered_mnist
from saccader_tf.data.image_decoding import decode_image_file
from saccader_tf.data.image_decoding import ImageFiles
from saccader_tf.data.decoded_cache import DecodedCache
from saccader_tf.data.image_file_check import IMAGE_EXTENSIONS
from saccader_tf.data.image_file_check import image_file_problem
from saccader_tf.data.image_folder import image_folder_source
from saccader_tf.data.image_folder_listing import ImageFolderListing
from saccader_tf.data.image_folder_listing import list_image_folder
from saccader_tf.data.recipe_pipeline import eval_batches
from saccader_tf.data.recipe_pipeline import train_batches
from saccader_tf.data.recipes import RECIPES
from saccader_tf.data.recipes import Recipe
from saccader_tf.data.imagenet_preprocessing import CROP_FRACTION
from saccader_tf.data.imagenet_preprocessing import center_crop
from saccader_tf.data.imagenet_preprocessing import preprocess_for_eval
from saccader_tf.data.imagenet_preprocessing import preprocess_for_train
from saccader_tf.data.imagenet_preprocessing import random_crop
from saccader_tf.data.mnist_digits import load_mnist_digits
from saccader_tf.data.normalization import IMAGENET_MEAN
from saccader_tf.data.normalization import IMAGENET_STD
from saccader_tf.data.normalization import default_normalization
from saccader_tf.data.normalization import normalize_images
from saccader_tf.data.registry import make_source
from saccader_tf.data.source import DataSource
from saccader_tf.data.source import fixed_epochs
from saccader_tf.data.tfds_source import tfds_source
