"""The verifiable random expert draw: pure rules (avoidance filters, DRBG, sampling), the draw
record (ExpertDraw), services (request/run/verify/replace) and the operator's pages."""
