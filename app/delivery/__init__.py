"""Delivery: a variation pushed as a new branch of its repository, maybe a pull request."""
