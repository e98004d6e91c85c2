"""Evaluation of a trained Saccader: accuracy of each glimpse policy on a dataset.

For every batch the representation and attention networks run once (`Saccader.context`); each
policy then only unrolls its glimpse loop (`Saccader.unroll`), so comparing policies costs little
more than evaluating one.
"""

import numpy as np
import tensorflow as tf

from saccader_tf.models.policies import make_policy

DEFAULT_POLICIES = ("learned", "full", "ordered_logits", "random")


def policy_accuracies(saccader, dataset, num_glimpses=None, policies=DEFAULT_POLICIES, seed=0):
    """Top-1 accuracy of each policy with `num_glimpses` glimpses.

    Args:
        saccader: a trained `Saccader`.
        dataset: batches of `(images, labels)` (extra elements are ignored).
        num_glimpses: T; default the model's.
        policies: names from `saccader_tf.models.POLICIES`.
        seed: seed of the `random` policy.

    Returns:
        A dict `{policy: accuracy}` (floats in [0, 1]) and the example count under `"examples"`.
    """
    steps = num_glimpses or saccader.num_glimpses
    objects = {name: make_policy(name, cell=saccader.cell, seed=seed) for name in policies}

    @tf.function
    def predict(images):
        context, _ = saccader.context(images, training=False)
        return {name: tf.argmax(saccader.unroll(context, steps, policy, training=False)["logits"], -1,
                                output_type=tf.int32)
                for name, policy in objects.items()}

    correct = {name: 0 for name in policies}
    total = 0
    for batch in dataset:
        images, labels = batch[0], batch[1]
        predictions = predict(images)
        labels = np.asarray(labels)
        for name in policies:
            correct[name] += int(np.sum(predictions[name].numpy() == labels))
        total += len(labels)
    if total == 0:
        raise ValueError("The evaluation dataset is empty. Received: dataset with 0 examples")
    result = {name: correct[name] / total for name in policies}
    result["examples"] = total
    return result


def format_policy_table(accuracies, num_glimpses):
    """A small text table of `policy_accuracies` output: accuracy and error per policy."""
    lines = [f"{'policy':<16}{'glimpses':>9}{'accuracy':>10}{'error':>8}"]
    for name, accuracy in accuracies.items():
        if name == "examples":
            continue
        glimpses = "all" if name == "full" else str(num_glimpses)
        lines.append(f"{name:<16}{glimpses:>9}{100 * accuracy:>9.2f}%{100 * (1 - accuracy):>7.2f}%")
    lines.append(f"({accuracies['examples']} test images)")
    return "\n".join(lines)
