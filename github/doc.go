// Package github runs kubeharden on GitHub: a pull request review that
// comments on the findings a pull request introduces (with suggestion
// blocks where the fix is a few lines of the diff), and a remediation
// job that writes the fixes for the default branch to one branch and
// keeps one pull request open for it.
//
// The package drives kubeharden through the Engine interface, which the
// main package implements over its lint pipeline and fix planner, so
// that it depends on neither the renderer nor Helm. It talks to the
// REST API through go-github over a transport that authenticates (a
// token, or a GitHub App installation token), retries rate limits, 5xx
// responses and timeouts within bounded waits, and never lets a
// credential reach output, logs or errors.
package github
