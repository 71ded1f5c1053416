"""Test support shared by every test layer: AWS-faithful Secrets Manager driving, adapters."""
