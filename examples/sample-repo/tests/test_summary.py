import unittest

from numstats import mean, median, spread


class MeanTest(unittest.TestCase):
    def test_mean(self):
        self.assertEqual(mean([1, 2, 3, 4]), 2.5)

    def test_empty(self):
        with self.assertRaises(ValueError):
            mean([])


class MedianTest(unittest.TestCase):
    def test_odd_length(self):
        self.assertEqual(median([3, 1, 2]), 2)
        self.assertEqual(median([7]), 7)

    def test_even_length(self):
        self.assertEqual(median([1, 2, 3, 4]), 2.5)
        self.assertEqual(median([8, 2, 6, 4]), 5)

    def test_empty(self):
        with self.assertRaises(ValueError):
            median([])


class SpreadTest(unittest.TestCase):
    def test_spread(self):
        self.assertEqual(spread([4, 9, 1]), 8)


if __name__ == "__main__":
    unittest.main()
