"""Summary statistics for non-empty sequences of numbers."""


def mean(values):
    """Return the arithmetic mean of values."""
    if not values:
        raise ValueError("mean() of an empty sequence")
    return sum(values) / len(values)


def median(values):
    """Return the middle value of values (the mean of the middle two if even)."""
    if not values:
        raise ValueError("median() of an empty sequence")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return ordered[middle]
    return (ordered[middle] + ordered[middle + 1]) / 2


def spread(values):
    """Return the distance between the largest and the smallest value."""
    if not values:
        raise ValueError("spread() of an empty sequence")
    return max(values) - min(values)
