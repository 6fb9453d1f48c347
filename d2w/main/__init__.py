"""Home pages and operational endpoints."""
