"""`python -m saccader_tf.convert`: weights of other projects as Keras weight files (see
`saccader_tf.cli.convert` and docs/pretrained.md).

python -m saccader_tf.convert --format=bagnet_pytorch --variant=bagnet33 \
    --input=bagnet32-2ddd53ed.pth.tar --output=bagnet33.weights.h5
"""

from saccader_tf.cli.startup import prepare_environment

if __name__ == "__main__":
    prepare_environment()  # before TensorFlow is imported
    from saccader_tf.cli import convert

    convert.run()
