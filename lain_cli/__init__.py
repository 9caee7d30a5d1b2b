"""lain: safe, observable Kubernetes releases from a few lines of chart/values.yaml."""

__version__ = "0.1.0"
