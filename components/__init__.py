"""kiban's typed ComponentResources, one per file."""
