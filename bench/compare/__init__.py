"""Peer comparison harness (issue 10): the app vs a bare Django list view and MLflow."""
