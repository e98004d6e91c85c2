"""SavedModel export of a trained Saccader, Saccader-ClassNet or DRAM."""

from saccader_tf.export.savedmodel import export_model
