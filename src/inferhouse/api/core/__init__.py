"""What every dialect shares: the route class, request bodies, replies, error shapes, OpenAPI helpers."""
