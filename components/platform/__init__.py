"""Layer 2: the platform kiban's applications are delivered through: the container registry (build PC
`registry:3` or Artifact Registry), the CI identity, Argo CD with Image Updater, and Argo Rollouts."""
