"""HTTP dialects: one module per wire format. Each validates, calls a service and shapes the reply."""
