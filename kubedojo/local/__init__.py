"""The embedded local cluster: real Kubernetes components on this machine."""
