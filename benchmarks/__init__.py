"""Load and durability scripts that run the real app server (gunicorn) on PostgreSQL; see docs/benchmarks.md."""
