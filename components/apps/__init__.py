"""Layer 3: what kiban deploys for its users."""
