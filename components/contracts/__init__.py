"""Layer 0: plain values passed between layers. No resources are declared here."""
