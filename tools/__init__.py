"""Developer tools: the offline mock engine and the render command."""
