"""Small helpers shared by every part of the package: `validation` (integer argument checks) and
`finite` (which variables hold a NaN or an Inf)."""
