"""The quote workflow: catalogue, pricing, geometry of parts, uploads, previews and analysis."""
