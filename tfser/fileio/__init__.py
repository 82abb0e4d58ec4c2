"""Ground floor: writing files so that a reader never sees half of one.

Every stage writes its artifacts through :mod:`tfser.fileio.atomic` (write to a temporary
file beside the target, then rename over it), so an interrupted run leaves the previous
file or none, never a truncated one.
"""
