"""Store webhooks: the durable record of each delivery and applying it once."""
