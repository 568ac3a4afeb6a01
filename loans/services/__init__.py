"""Business operations. Each is one transaction; side effects run after commit."""
