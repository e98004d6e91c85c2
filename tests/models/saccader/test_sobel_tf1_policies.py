"""The edge-based policies `sobel_mean` / `sobel_var` (their rankings) and the TF1 code's
`random_tf1` / `center_tf1` (snapped locations, revisits, the centre cell)."""

import numpy as np
import tensorflow as tf

from saccader_tf.models.saccader.policies import POLICIES, GlimpseContext, make_policy
from saccader_tf.models.saccader.policies.sobel import box_statistics, sobel_magnitude
from saccader_tf.models.saccader.policies.tf1 import snapped_log_probabilities
from saccader_tf.models.saccader.saccader import Saccader

TINY28 = {
    "num_classes": 3,
    "image_size": 28,
    "variant": "bagnet9_tiny",
    "input_channels": 1,
    "seed": 2,
}
GRID28 = 5  # bagnet9_tiny at 28 px: 5x5 cells, box of cell (i, j) = rows 4i..4i+8, cols 4j..4j+8


def _numpy_sobel(image):
    """|Sobel| of a 2-D image with REFLECT padding, written out (the reference for the policies)."""
    padded = np.pad(image, 1, mode="reflect")
    h, w = image.shape
    ky = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float)
    gy, gx = np.zeros((h, w)), np.zeros((h, w))
    for a in range(3):
        for b in range(3):
            gy += ky[a, b] * padded[a : a + h, b : b + w]
            gx += ky.T[a, b] * padded[a : a + h, b : b + w]
    return np.sqrt(gx**2 + gy**2)


def _context(images, boxes, grid):
    batch, n = images.shape[0], grid[0] * grid[1]
    return GlimpseContext(
        mixed=tf.zeros([batch, n, 1]),
        patch_logits=tf.zeros([batch, n, 1]),
        full_logits=tf.zeros([batch, 1]),
        grid=grid,
        images=tf.constant(images),
        cell_boxes=tf.constant(boxes, tf.int32),
    )


def _unroll(policy, context, steps):
    visited = tf.zeros([context.images.shape[0], context.grid[0] * context.grid[1]])
    cells = []
    for _ in range(steps):
        _, cell, visited = policy.step(context, visited, training=False)
        cells.append(cell)
    return tf.stack(cells, axis=1).numpy()


class SobelPolicyTest(tf.test.TestCase):
    def test_quadrant_cells_are_ranked_by_edge_strength(self):
        # 16x16 image, 4 non-overlapping 8x8 cells (2x2 grid). A 2x2 square of contrast c inside a
        # quadrant puts all its edges (rows/cols 2..5) in that quadrant, so the mean and the
        # variance of |Sobel| scale with c and c²: contrasts (1, 0, 3, 2) -> order 2, 3, 0, 1.
        image = np.zeros((16, 16), np.float32)
        for (row, col), contrast in {(0, 0): 1.0, (8, 0): 3.0, (8, 8): 2.0}.items():
            image[row + 3 : row + 5, col + 3 : col + 5] = contrast
        boxes = [[0, 0, 8, 8], [0, 8, 8, 16], [8, 0, 16, 8], [8, 8, 16, 16]]
        rgb = np.repeat(image[None, :, :, None], 3, axis=-1)  # channel mean = the image
        for name in ("sobel_mean", "sobel_var"):
            cells = _unroll(make_policy(name), _context(rgb, boxes, (2, 2)), 4)
            self.assertAllEqual(cells, [[2, 3, 0, 1]], msg=name)

    def test_box_statistics_average_only_the_pixels_inside_the_image(self):
        values = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
        mean, variance = box_statistics(values, [[-2, -2, 2, 2], [2, 2, 6, 7], [0, 0, 4, 4]])
        # [0, 1, 4, 5] and [10, 11, 14, 15]: means 2.5 and 12.5, variance (1+1+4+4)... = 4.25 each;
        # the whole image: mean 7.5, variance (16² - 1) / 12 = 21.25.
        self.assertAllClose(mean, [[2.5, 12.5, 7.5]])
        self.assertAllClose(variance, [[4.25, 4.25, 21.25]])

    def test_sobel_magnitude_matches_the_written_out_operator(self):
        image = np.random.default_rng(0).normal(size=(9, 11)).astype(np.float32)
        self.assertAllClose(
            sobel_magnitude(image[None, :, :, None])[0], _numpy_sobel(image), atol=1e-5
        )

    def test_saccader_sobel_policies_follow_the_cell_boxes(self):
        # Squares of contrast 4, 2, 1; all edges of the strongest one (rows/cols 6..10) lie in the
        # box of cell (1, 1) only (rows/cols 4..12), so both policies start there (cell 6).
        image = np.zeros((28, 28), np.float32)
        image[7:10, 7:10], image[15:18, 7:10], image[7:10, 15:18] = 4.0, 2.0, 1.0
        edges = _numpy_sobel(image)
        boxes = [
            edges[4 * i : 4 * i + 9, 4 * j : 4 * j + 9]
            for i in range(GRID28)
            for j in range(GRID28)
        ]
        mean = np.array([b.mean() for b in boxes])
        var = np.array([b.var() for b in boxes])
        model = Saccader(**TINY28)
        context, _ = model.context(image[None, :, :, None])
        out = model.unroll(context, 4, make_policy("sobel_mean"))
        self.assertAllEqual(out["cells"], [np.argsort(-mean, kind="stable")[:4]])
        self.assertEqual(int(out["cells"][0, 0]), 6)
        self.assertAllEqual(out["glimpse_boxes"][0, 0], [4, 4, 13, 13])
        cells = model.unroll(context, 4, make_policy("sobel_var"))["cells"].numpy()[0]
        self.assertAllEqual(cells[:2], np.argsort(-var, kind="stable")[:2])
        self.assertEqual(set(cells[2:]), {1, 5})  # equal variances (the picture is symmetric there)
        self.assertEqual(cells[0], 6)

    def test_scores_are_reused_only_within_one_graph(self):
        # The export unrolls one `tf.switch_case` branch per T on one context: a branch must not
        # read scores cached in another branch's graph.
        model = Saccader(**TINY28)
        policy = make_policy("sobel_mean")
        images = np.random.default_rng(2).normal(size=(2, 28, 28, 1)).astype(np.float32)

        @tf.function
        def cells_for(steps_index):
            context, _ = model.context(images)
            branches = [
                lambda t=t: tf.pad(model.unroll(context, t, policy)["cells"], [[0, 0], [0, 3 - t]])
                for t in (1, 2, 3)
            ]
            return tf.switch_case(steps_index, branches)

        eager = model.unroll(model.context(images)[0], 3, policy)["cells"].numpy()
        self.assertAllEqual(cells_for(tf.constant(2)), eager)
        self.assertAllEqual(cells_for(tf.constant(0))[:, 0], eager[:, 0])

    def test_sobel_policy_without_images_is_a_clear_error(self):
        context = GlimpseContext(
            mixed=tf.zeros([1, 4, 1]),
            patch_logits=tf.zeros([1, 4, 1]),
            full_logits=tf.zeros([1, 1]),
            grid=(2, 2),
        )
        with self.assertRaisesRegex(ValueError, "Received: images=None"):
            make_policy("sobel_mean").step(context, tf.zeros([1, 4]), False)


class TF1PolicyTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = Saccader(**TINY28)
        images = np.random.default_rng(1).normal(size=(4, 28, 28, 1)).astype(np.float32)
        cls.context, _ = cls.model.context(images)

    def test_names_of_both_definitions_are_reachable(self):
        for name in ("random", "random_tf1", "center", "center_tf1", "sobel_mean", "sobel_var"):
            self.assertIn(name, POLICIES)
            self.assertEqual(make_policy(name, seed=0).name, name)

    def test_random_tf1_cells_are_the_snapped_locations_and_revisit(self):
        steps = 25
        out = self.model.unroll(self.context, steps, make_policy("random_tf1", seed=5))
        twin = make_policy("random_tf1", seed=5)  # the same seed draws the same locations
        locations = np.stack([twin.sample_locations(4).numpy() for _ in range(steps)], axis=1)
        self.assertTrue(np.all(np.abs(locations) <= 1.0))
        # Snapped by hand: index round(4 * (u + 1) / 2) on each side of the 5x5 grid.
        rows = np.round(4 * (locations[..., 0] + 1) / 2).astype(int)
        cols = np.round(4 * (locations[..., 1] + 1) / 2).astype(int)
        self.assertAllEqual(out["cells"], rows * GRID28 + cols)
        revisits = [steps - len(set(row)) for row in out["cells"].numpy()]
        self.assertGreater(min(revisits), 0)  # 25 draws over 25 cells: every image repeats a cell
        # The location probabilities are the snapped law: border rows/cols 1/8, inner ones 1/4.
        side = np.array([1, 2, 2, 2, 1]) / 8
        self.assertAllClose(out["probabilities"][0, 3], np.outer(side, side).ravel(), atol=1e-6)
        self.assertAllClose(np.exp(snapped_log_probabilities((1, 3))), [0.25, 0.5, 0.25])

    def test_center_tf1_returns_the_centre_cell_every_time(self):
        out = self.model.unroll(self.context, 4, make_policy("center_tf1"))
        self.assertAllEqual(out["cells"], np.full((4, 4), 12))  # (2, 2) of the 5x5 grid
        z = self.context.patch_logits.numpy()[:, 12]
        self.assertAllClose(out["logits"], z)
        self.assertAllClose(out["probabilities"][:, :, 12], np.ones((4, 4)))
        ours = self.model.unroll(self.context, 4, make_policy("center"))["cells"].numpy()
        self.assertEqual(ours[0, 0], 12)
        self.assertLen(set(ours[0]), 4)  # today's `center` never revisits
