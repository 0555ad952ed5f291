"""The composition root of Anxin: settings, the ``anxin`` command line and ``anxin up``."""
