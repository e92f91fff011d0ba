"""What the service tells its operators: Prometheus metrics (metrics.py), aggregated across processes."""
