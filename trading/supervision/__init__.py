"""Supervision (行政监督/纪检监察): read-only views of everything. Imports every domain package."""
