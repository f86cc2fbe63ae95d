// Command kubeharden finds everything a GitOps repository deploys — Helm
// charts, Kustomize overlays, plain manifests and the Argo CD and Flux
// objects that point at them — renders it offline, checks the objects
// against hardening rules and reports each finding at the source line
// that produced it.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/driver"
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

// openRepo opens the repository of args for a command; every error is
// exit code 2.
func openRepo(ctx context.Context, wd string, args []string, opts driver.Options) (*driver.Repo, error) {
	r, err := driver.Open(ctx, wd, args, opts)
	if err != nil {
		return nil, &codeError{code: exitError, err: err}
	}
	return r, nil
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
	return runEnv(ctx, env{wd: wd, now: time.Now}, args, stdin, stdout, stderr)
}

// env is what the commands take from their surroundings besides their
// arguments and streams; tests pin it.
type env struct {
	wd  string           // relative paths are resolved against it
	now func() time.Time // the clock exemptions are judged by
}

// runEnv is run in the surroundings e.
func runEnv(ctx context.Context, e env, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	wd, err := filepath.Abs(e.wd)
	if err != nil {
		fmt.Fprintln(stderr, "kubeharden:", err)
		return exitError
	}
	e.wd = wd
	root := newRootCmd(e, stdin, stdout, stderr)
	root.SetArgs(args)
	return execute(ctx, root, stderr)
}

// execute runs a command tree and turns its error into an exit code,
// printing the error's message on stderr.
func execute(ctx context.Context, root *cobra.Command, stderr io.Writer) int {
	err := root.ExecuteContext(ctx)
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

func newRootCmd(e env, stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubeharden",
		Short: "Lint and harden the Kubernetes objects a GitOps repository deploys",
		Long: `kubeharden renders the Helm charts, Kustomize overlays, plain manifests and
Argo CD / Flux objects of a repository offline, checks the rendered objects
against hardening rules, and reports each finding at the source line that
produced it.`,
		Example: `  kubeharden lint
  kubeharden fix --dry-run
  kubeharden rules pss-run-as-non-root
  source <(kubeharden completion bash)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolP("quiet", "q", false,
		"no progress line on the terminal while rendering; fix prints only its summary line")
	root.AddCommand(newLintCmd(e), newFixCmd(e), newRenderCmd(e), newBaselineCmd(e), newRulesCmd(), newVersionCmd(), githubCommand(e.wd, defaultGitHubDeps(e.now)))
	addCompletionCmd(root)
	return root
}

// quiet reports whether --quiet is set on cmd or a parent.
func quiet(cmd *cobra.Command) bool {
	q, _ := cmd.Flags().GetBool("quiet")
	return q
}

// addCompletionCmd adds cobra's completion command now rather than when
// the root runs, so that it can carry examples like every other command.
// The scripts complete commands, flags and paths, and ask kubeharden
// itself (its hidden __complete command) for rule IDs and formats.
func addCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		// Without a shell, or with one cobra does not know, it is a usage
		// error rather than the help and exit 0.
		c.RunE = func(*cobra.Command, []string) error {
			return usageError("completion needs a shell: bash, zsh, fish or powershell")
		}
		c.Long += `
The scripts complete commands, flags and file names, and rule IDs (fix --rule,
rules ID), output formats (--format) and severities (--fail-on).`
		c.Example = `  # bash: in this shell, or for every new one
  source <(kubeharden completion bash)
  kubeharden completion bash > /etc/bash_completion.d/kubeharden
  # zsh
  kubeharden completion zsh > "${fpath[1]}/_kubeharden"
  # fish
  kubeharden completion fish > ~/.config/fish/completions/kubeharden.fish
  # PowerShell
  kubeharden completion powershell | Out-String | Invoke-Expression`
	}
}

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubeharden and of the libraries it was built with",
		Long: `Print the module version, VCS revision and dirty flag, the Go version, and the
versions of Helm, Kustomize and the Pod Security library compiled in, so that a
report can be tied to the exact build that produced it.`,
		Example: `  kubeharden version
  kubeharden version --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildInfo()
			out := cmd.OutOrStdout()
			switch format {
			case "text":
				fmt.Fprintf(out, "kubeharden %s\n", info.Version)
				if info.Revision != "" {
					dirty := ""
					if info.Dirty {
						dirty = " (dirty)"
					}
					fmt.Fprintf(out, "revision: %s%s\n", info.Revision, dirty)
				}
				fmt.Fprintf(out, "go: %s\n", info.GoVersion)
				for _, d := range info.Libraries {
					fmt.Fprintf(out, "%s: %s\n", d.Path, d.Version)
				}
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			default:
				return usageError("unknown format %q (want text or json)", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text or json")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// BuildInfo describes the binary: enough to reproduce a report.
type BuildInfo struct {
	Version   string    `json:"version"`
	Revision  string    `json:"revision,omitempty"`
	Dirty     bool      `json:"dirty,omitempty"`
	GoVersion string    `json:"goVersion"`
	Libraries []Library `json:"libraries"`
}

// Library is a compiled-in module whose version affects results.
type Library struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// trackedLibraries are the modules whose versions decide what kubeharden
// renders and reports.
var trackedLibraries = []string{
	"helm.sh/helm/v3",
	"sigs.k8s.io/kustomize/api",
	"sigs.k8s.io/kustomize/kyaml",
	"k8s.io/pod-security-admission",
	"k8s.io/api",
}

func buildInfo() BuildInfo {
	info := BuildInfo{Version: "(devel)", GoVersion: runtime.Version(), Libraries: []Library{}}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Dirty = s.Value == "true"
		}
	}
	for _, want := range trackedLibraries {
		for _, d := range bi.Deps {
			if d.Path == want {
				v := d.Version
				if d.Replace != nil {
					v = d.Replace.Version
				}
				info.Libraries = append(info.Libraries, Library{Path: d.Path, Version: v})
			}
		}
	}
	return info
}

// version is the module version the binary was built from.
func version() string { return buildInfo().Version }
