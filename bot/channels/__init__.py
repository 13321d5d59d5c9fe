"""Channel adapters: each turns its platform's messages into `Incoming` and renders `Reply`."""
