// Package e2e holds end-to-end tests of rolepull's secret-free pulls: a
// real node on loopback, real registry instances with images pushed into
// them, and container groups whose pulls go through STS, RAM and the
// registry exactly as in production. Each test names the seed scenario or
// the edge case of reference/domain.md §4 it proves.
package e2e
