"""Small helpers shared by every part of the package: `validation` (integer argument checks),
`finite` (which variables hold a NaN or an Inf) and `urls` (whether a path is a URL)."""
