"""Programs that run inside the cluster's pods (read as text and shipped in ConfigMaps)."""
