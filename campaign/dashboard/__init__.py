"""Per-campaign numbers for organisers: signatures over time, by country and share channel, views to signatures."""
