"""The data-protection policy kept in code: registry, consents, copies, erasure, retention, requests."""
