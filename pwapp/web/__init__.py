"""Plain HTTP on the Reflex backend: cookie routes, security headers, the REST API."""
