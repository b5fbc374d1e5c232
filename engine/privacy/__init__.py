"""Privacy requests from the platform: customer data exports and erasure."""
