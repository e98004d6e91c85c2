"""`python -m saccader_tf.data_service`: a tf.data service dispatcher or worker for the launcher's
`--data_service` (see `saccader_tf.cli.data_service` and docs/distributed.md).

python -m saccader_tf.data_service --role=dispatcher --port=5050
python -m saccader_tf.data_service --role=worker --dispatcher=localhost:5050 --port=5051
"""

from saccader_tf.cli.startup import prepare_environment

if __name__ == "__main__":
    prepare_environment()  # before TensorFlow is imported
    from saccader_tf.cli import data_service

    data_service.run()
