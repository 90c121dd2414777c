"""Social adapters: post a text to the platform's own account. The outbox's worker
calls them; nothing posts inside a request."""
