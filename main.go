// Command kubeharden finds everything a GitOps repository deploys — Helm
// charts, Kustomize overlays, plain manifests and the Argo CD and Flux
// objects that point at them — renders it offline, checks the objects
// against hardening rules and reports each finding at the source line
// that produced it.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1
	exitError    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitError carries an exit code out of a cobra command.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

// usageError marks err as the user's mistake (exit code 2).
func usageError(format string, args ...any) error {
	return &codeError{code: exitError, err: fmt.Errorf(format, args...)}
}

// run is the whole program: it parses args, runs the command and returns
// the exit code. Nothing below it exits or writes to the real stdout.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "kubeharden:", err)
		return exitError
	}
	return runIn(ctx, wd, args, stdin, stdout, stderr)
}

// runIn is run with relative paths resolved against wd, so that tests can
// run many invocations in parallel in one process.
func runIn(ctx context.Context, wd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	wd, err := filepath.Abs(wd)
	if err != nil {
		fmt.Fprintln(stderr, "kubeharden:", err)
		return exitError
	}
	root := newRootCmd(wd, stdin, stdout, stderr)
	root.SetArgs(args)
	err = root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintln(stderr, "kubeharden:", ce.err)
		}
		return ce.code
	}
	// cobra's own errors: unknown command or flag, bad arguments.
	fmt.Fprintln(stderr, "kubeharden:", err)
	return exitError
}

func newRootCmd(wd string, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubeharden",
		Short: "Lint and harden the Kubernetes objects a GitOps repository deploys",
		Long: `kubeharden renders the Helm charts, Kustomize overlays, plain manifests and
Argo CD / Flux objects of a repository offline, checks the rendered objects
against hardening rules, and reports each finding at the source line that
produced it.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newLintCmd(wd), newRenderCmd(wd), newBaselineCmd(wd), newRulesCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubeharden",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "kubeharden", version())
			return nil
		},
	}
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
