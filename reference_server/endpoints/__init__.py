"""The reference server's routes, one module per family; ``reference_server.app`` mounts them."""
