"""Parallel actions, split by concept; the public names are in ``flowc.runtime.parallelism``."""
