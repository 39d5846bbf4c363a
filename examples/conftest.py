"""Hypothesis profiles for listener tests: ``dev`` (the default) is quick, ``ci`` is thorough.

Choose one with the environment: ``HYPOTHESIS_PROFILE=ci pytest``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure can be reproduced
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
