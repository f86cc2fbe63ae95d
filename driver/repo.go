package driver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubeharden/kubeharden/config"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/rules"
)

// Repo is a repository opened for linting and fixing: its root, config
// and renderer, and the paths the user named (root-relative; "." for
// everything). A Repo is not safe for concurrent use; a lint or fix run
// owns it while it runs.
type Repo struct {
	root     string
	fs       *render.FS
	cfg      *config.Config
	renderer *render.Renderer
	paths    []string
	// rules are the rules to run; nil means rules.All().
	rules []*lint.Rule
	// audit is the audit log evidence rules may use (--audit-log).
	audit *lint.AuditLog
	now   func() time.Time
	// progress, when set, is told how many of the targets of a rendering
	// pass are done: (0, n) when it starts, then once per target, in
	// increasing order and never concurrently; (n, n) ends the pass.
	progress func(done, total int)
	// reuse, with changed, lets a lint take the renders of reuse (a
	// snapshot of the state before the files named in changed were
	// edited) for the targets those files do not affect: the fixer's
	// verifying lints render only what its edits touch.
	reuse   *Snapshot
	changed []string
	// digests makes each lint run record a digest of every target's
	// inputs (Outcome.Rendered), for the JSON and SARIF reports.
	digests bool
	// settings, when set, replace the config's lint settings (Options.Settings).
	settings *lint.Settings
	// stdin is set when the repository is one stream read from standard
	// input (Options.Stdin), held in the FS as the file StdinFile.
	stdin bool
	// named is set when paths are the user's arguments (not the files
	// --changed lists): a path that resolves to no target is an error.
	named bool
	// prior are the exemptions of the commit compared with (Options.Prior).
	prior *lint.PriorExemptions
	// cacheDir is Options.CacheDir.
	cacheDir string
}

// StdinFile is the name findings and errors give the stream linted with
// Options.Stdin ("kubeharden lint -"): not a file name a repository can
// hold by accident, and shown as it is.
const StdinFile = "<stdin>"

// Options are the settings of an opened repository besides its files.
// The zero value lints with the whole catalogue at the current time.
type Options struct {
	// Rules are the rules to run; nil means rules.All(). The config's
	// rule settings (on/off, severity, options) apply to them.
	Rules []*lint.Rule
	// AuditLog names a Kubernetes audit log (audit.k8s.io/v1 Event JSON
	// lines) whose evidence the RBAC rules' fixes use; relative to the
	// working directory. Empty: none.
	AuditLog string
	// ChangedSince, when set, is a git ref: only the targets that the
	// files changed between it and the working tree affect are linted.
	ChangedSince string
	// Now is the clock exemptions are judged by; nil is time.Now.
	Now func() time.Time
	// Progress, when set, is told how many targets of each rendering pass
	// are done (see Repo.progress).
	Progress func(done, total int)
	// Digests makes every lint record a digest of each target's inputs
	// (Outcome.Rendered), for the JSON and SARIF reports.
	Digests bool
	// Stdin, when not nil, is a stream of YAML or JSON documents (the
	// output of helm template or kustomize build) linted as one manifest
	// file named StdinFile instead of the paths' targets: the root and its
	// config are found from wd as usual, but no file of the repository is
	// discovered or rendered.
	Stdin []byte
	// Settings, when set, are the lint settings instead of the config's
	// (which still sets limits, discovery and rendering): for tests and
	// embedders. Its unset KnownRule, Audit and Now are filled in as for
	// the config's: the rules run, AuditLog, and Now.
	Settings *lint.Settings
	// Config, when set, is the policy the repository is judged by instead
	// of its own .kubeharden.yaml (see ParseConfig): a pull request's
	// head is judged by its base's, so that the change under review
	// cannot relax its own gate. All of it applies — rules, include and
	// exclude, exemptions, limits and rendering settings.
	Config *config.Config
	// Prior, when set, are the exemption grants of the commit the
	// repository is compared with; annotations granting more are reported
	// as exemption-added (lint.Settings.Prior).
	Prior *lint.PriorExemptions
	// CacheDir is the directory of the render cache that changed-only
	// runs keep the context of the rest of the repository in (cache.go),
	// or "off"; empty means $KUBEHARDEN_CACHE, else the git directory's
	// kubeharden-cache, else the user cache directory.
	CacheDir string
}

// UsageError is an error in what the user asked for (a path that does
// not exist, a bad git ref or audit log), as opposed to a problem of the
// repository's content.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usageError(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Open finds the repository of the given paths (relative to wd; none
// means wd) and reads its config. The root is the git top level of the
// first path (the nearest directory at or above it holding .git), or the
// nearest directory between the path and that top level holding a
// .kubeharden.yaml (a config file marks a GitOps root inside a larger
// repository); outside git, the path itself (a file's directory): a
// config file in some ancestor of a directory that is no git repository
// does not make that ancestor the root. Nothing above the root is read.
func Open(ctx context.Context, wd string, paths []string, opts Options) (*Repo, error) {
	if opts.Stdin != nil {
		paths = nil
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(wd, p)
	}
	first := abs(paths[0])
	st, err := os.Stat(first)
	if err != nil {
		return nil, usageError("%v", err)
	}
	start := first
	if !st.IsDir() {
		start = filepath.Dir(first)
	}
	root := findRoot(start)
	fsys, err := render.NewFS(root)
	if err != nil {
		return nil, usageError("%v", err)
	}
	if opts.Stdin != nil {
		fsys = fsys.WithOverlay(map[string][]byte{StdinFile: opts.Stdin})
		paths = []string{StdinFile}
	}
	r := &Repo{root: root, fs: fsys, rules: opts.Rules, now: opts.Now, progress: opts.Progress, digests: opts.Digests,
		settings: opts.Settings, stdin: opts.Stdin != nil, prior: opts.Prior, cacheDir: opts.CacheDir}
	if r.now == nil {
		r.now = time.Now
	}
	for _, a := range paths {
		if r.stdin {
			r.paths = append(r.paths, a)
			continue
		}
		p := abs(a)
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		rel, err := fsys.Rel(p)
		if err != nil {
			return nil, usageError("%s is outside the repository %s", a, root)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, usageError("%v", err)
		}
		r.paths = append(r.paths, rel)
	}
	cfg := opts.Config
	if cfg == nil {
		if cfg, err = loadConfig(fsys); err != nil {
			return nil, err
		}
	}
	r.cfg = cfg
	fsys.MaxFileSize = int64(cfg.Limits.MaxFileSize)
	r.renderer = render.NewRenderer(fsys, render.Options{KubeVersion: cfg.KubernetesVersion,
		Timeout: cfg.Limits.Timeout(), MaxOutput: int64(cfg.Limits.MaxRenderOutput),
		MaxMemory: int64(cfg.Limits.MaxMemory)})
	setMemoryLimit(int64(cfg.Limits.MaxMemory))
	if err := r.readAuditLog(wd, opts.AuditLog); err != nil {
		return nil, err
	}
	r.named = opts.ChangedSince == ""
	if opts.ChangedSince != "" {
		// Lint only what the changed files affect.
		if r.paths, err = changedPaths(ctx, root, opts.ChangedSince); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Root is the repository's root directory (absolute).
func (r *Repo) Root() string { return r.root }

// FS is the repository's file system: reads below the root only.
func (r *Repo) FS() *render.FS { return r.fs }

// Config is the repository's .kubeharden.yaml (the zero config without one).
func (r *Repo) Config() *config.Config { return r.cfg }

// SetProgress replaces the progress callback (see Options.Progress); nil
// turns it off.
func (r *Repo) SetProgress(f func(done, total int)) { r.progress = f }

// readAuditLog reads a Kubernetes audit log (--audit-log), named by its
// path relative to the repository root when it is inside it.
func (r *Repo) readAuditLog(wd, name string) error {
	if name == "" {
		return nil
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(wd, name)
	}
	f, err := os.Open(name)
	if err != nil {
		return usageError("--audit-log: %v", err)
	}
	defer f.Close()
	shown := filepath.Base(name)
	if rel, err := r.fs.Rel(name); err == nil {
		shown = rel
	}
	log, err := lint.ParseAuditLog(shown, f)
	if err != nil {
		return usageError("--audit-log: %v", err)
	}
	r.audit = log
	return nil
}

// changedPaths returns the root-relative paths that differ between ref
// and the working tree (deleted files included), as git reports them.
// git runs with repository-controlled helpers disabled: no fsmonitor,
// external diff or textconv program from the repository's config runs.
func changedPaths(ctx context.Context, root, ref string) ([]string, error) {
	if strings.HasPrefix(ref, "-") {
		return nil, usageError("--changed: bad ref %q", ref)
	}
	cmd := exec.CommandContext(ctx, "git", "-C", root, "-c", "core.fsmonitor=false",
		"diff", "--name-only", "-z", "--relative", "--no-ext-diff", "--no-textconv", ref, "--")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, usageError("--changed %s: git diff: %v %s", ref, err, strings.TrimSpace(stderr.String()))
	}
	var paths []string
	for _, p := range strings.Split(string(out), "\x00") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// findRoot returns the root for a path in directory dir: the nearest
// directory at or above dir holding .kubeharden.yaml below or at the
// nearest one holding .git, else that git top level; dir itself when no
// directory above it holds .git. It reads the file system only (git
// itself is not run), and only names.
func findRoot(dir string) string {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	configured := "" // the nearest directory with a config file so far
	for d := dir; ; {
		if configured == "" {
			if _, err := os.Lstat(filepath.Join(d, config.FileName)); err == nil {
				configured = d
			}
		}
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return cmp.Or(configured, d)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir // outside git: the path itself
		}
		d = parent
	}
}

func loadConfig(fsys *render.FS) (*config.Config, error) {
	src, err := fsys.ReadFile(config.FileName)
	if errors.Is(err, fs.ErrNotExist) {
		return &config.Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseConfig(config.FileName, src)
}

// ParseConfig parses and checks a .kubeharden.yaml as Open does (unknown
// keys, rule IDs and rule options are errors with their line), for a
// policy read from elsewhere than the repository's tree: Options.Config.
// file names it in errors.
func ParseConfig(file string, src []byte) (*config.Config, error) {
	cfg, err := config.Parse(file, src)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckRules(file, func(id string) bool { return rules.ByID(id) != nil }); err != nil {
		return nil, err
	}
	if err := cfg.CheckOptions(file, rules.ValidateOptions); err != nil {
		return nil, err
	}
	return cfg, nil
}
