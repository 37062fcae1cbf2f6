"""The site's settings, with benchmarks.baseline_urls as the URLconf (one extra, benchmark-only view)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.baseline_urls"
