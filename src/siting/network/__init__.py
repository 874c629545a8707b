"""Network stage: walking model and public-transport networks (GTFS read or built from TfL data)."""
