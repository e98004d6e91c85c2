"""`python -m saccader_tf.launch`: the command line (see `saccader_tf.cli.launcher`).

python -m saccader_tf.launch                      # all stages on offline cluttered MNIST
python -m saccader_tf.launch --stage=1 --model_dir=runs/a
"""

from saccader_tf.cli.startup import prepare_environment

if __name__ == "__main__":
    prepare_environment()  # before TensorFlow is imported
    from saccader_tf.cli import launcher

    launcher.run()
