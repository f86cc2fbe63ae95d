package driver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/lint"
)

// The planner is tested with rules of its own, so that its cases do not
// change when the catalogue's messages or fixes do:
//
//   - test-non-root: pod-level securityContext.runAsNonRoot must be true;
//   - test-read-only: every container sets readOnlyRootFilesystem: true;
//   - test-drop-all: every container's capabilities.drop holds ALL;
//   - test-netpol: a namespace with workloads has a NetworkPolicy (new
//     object fix);
//   - test-broken: offers a fix that does not fix (always skipped);
//   - test-bad-type: offers a fix that makes the object invalid (skipped,
//     though the invalid-object rule is not run).
var testFixRules = []*lint.Rule{
	{ID: "test-non-root", Title: "pods run as non-root", Severity: lint.High, Kinds: workloadKinds,
		Check: func(p *lint.Pass, o *lint.Object) {
			pt, _ := o.PodTemplate()
			if pt == nil {
				return
			}
			at := pt.SpecPath.Append("securityContext", "runAsNonRoot")
			if o.String(at) != "true" {
				p.Report(lint.Finding{Object: o, Field: at, Message: "pod may run as root",
					Fix: &lint.FixInfo{Description: "set runAsNonRoot: true", Patches: []fix.Patch{fix.Set(at, true)}}})
			}
		}},
	{ID: "test-read-only", Title: "read-only root", Severity: lint.Medium, Kinds: workloadKinds,
		Check: func(p *lint.Pass, o *lint.Object) {
			pt, _ := o.PodTemplate()
			if pt == nil {
				return
			}
			for _, c := range pt.Containers() {
				at := c.Path.Append("securityContext", "readOnlyRootFilesystem")
				if o.String(at) != "true" {
					p.Report(lint.Finding{Object: o, Field: at, Message: "container " + c.Name + " has a writable root",
						Fix: &lint.FixInfo{Description: "set readOnlyRootFilesystem: true", Patches: []fix.Patch{fix.Set(at, true)}}})
				}
			}
		}},
	{ID: "test-drop-all", Title: "drop all", Severity: lint.Medium, Kinds: workloadKinds, Off: true,
		Check: func(p *lint.Pass, o *lint.Object) {
			pt, _ := o.PodTemplate()
			if pt == nil {
				return
			}
			for _, c := range pt.Containers() {
				at := c.Path.Append("securityContext", "capabilities", "drop")
				n := o.Get(at)
				if n == nil || !slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return c.Value == "ALL" }) {
					p.Report(lint.Finding{Object: o, Field: at, Message: "container " + c.Name + " keeps capabilities",
						Fix: &lint.FixInfo{Description: "drop ALL", Patches: []fix.Patch{fix.EnsureItem(at, "ALL")}}})
				}
			}
		}},
	{ID: "test-netpol", Title: "network policy", Severity: lint.Low, Off: true,
		Run: func(p *lint.Pass) {
			covered := map[string]bool{}
			first := map[string]*lint.Object{}
			var order []string
			for _, o := range p.Objects {
				switch {
				case o.Resource.Kind == "NetworkPolicy":
					covered[o.Resource.Namespace] = true
				case lint.IsWorkload(o.Resource.Kind) && o.Resource.Namespace != "" && first[o.Resource.Namespace] == nil:
					first[o.Resource.Namespace] = o
					order = append(order, o.Resource.Namespace)
				}
			}
			for _, ns := range order {
				if covered[ns] {
					continue
				}
				var np yaml.Node
				src := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: " + ns +
					"\nspec:\n  podSelector: {}\n  policyTypes:\n  - Ingress\n  - Egress\n"
				if err := yaml.Unmarshal([]byte(src), &np); err != nil {
					panic(err)
				}
				p.Report(lint.Finding{Object: first[ns], Message: "namespace " + ns + " has no network policy",
					Fix: &lint.FixInfo{Description: "add a default-deny NetworkPolicy", New: []*yaml.Node{np.Content[0]}}})
			}
		}},
	{ID: "test-bad-type", Title: "a fix that writes the wrong type", Severity: lint.Low, Kinds: []string{"Deployment"}, Off: true,
		Check: func(p *lint.Pass, o *lint.Object) {
			at := lint.Path{"spec", "replicas"}
			if o.Get(at) == nil {
				p.Report(lint.Finding{Object: o, Field: at, Message: "replicas unset",
					Fix: &lint.FixInfo{Description: "set replicas", Patches: []fix.Patch{fix.Set(at, "three")}}})
			}
		}},
	{ID: "test-broken", Title: "a fix that does not fix", Severity: lint.Low, Kinds: workloadKinds, Off: true,
		Check: func(p *lint.Pass, o *lint.Object) {
			at := lint.Path{"metadata", "labels", "fixed"}
			p.Report(lint.Finding{Object: o, Field: at, Message: "always reported",
				Fix: &lint.FixInfo{Description: "set a label", Patches: []fix.Patch{fix.Set(at, "yes")}}})
		}},
}

var workloadKinds = []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

// TestFixPlanner runs the planner on each testdata/fix/*.txtar repository.
// The archive's comment lists the rules to run (default: test-non-root
// and test-read-only), one "rules:" line; "rules: catalogue" runs the
// real rule catalogue. Files named want/PATH hold
// PATH's expected content after the fix (a file not listed must not
// change); "skipped" lists the expected skipped fixes, one "rule: reason
// substring" per line. Each case also checks that the fix is verified
// (the fixed findings are gone on a fresh lint of the written files) and
// idempotent (a second run changes nothing).
func TestFixPlanner(t *testing.T) {
	files, _ := filepath.Glob("testdata/fix/*.txtar")
	if len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			ruleIDs := []string{"test-non-root", "test-read-only"}
			for _, l := range strings.Split(string(ar.Comment), "\n") {
				if rest, ok := strings.CutPrefix(l, "rules:"); ok {
					ruleIDs = strings.Fields(rest)
				}
			}
			var rs []*lint.Rule // nil: the whole catalogue ("rules: catalogue")
			for _, r := range testFixRules {
				if slices.Contains(ruleIDs, r.ID) {
					c := *r
					c.Off = false
					rs = append(rs, &c)
				}
			}
			dir := t.TempDir()
			want := map[string]string{}
			var skippedWant []string
			for _, f := range ar.Files {
				switch {
				case strings.HasPrefix(f.Name, "want/"):
					want[strings.TrimPrefix(f.Name, "want/")] = string(f.Data)
				case f.Name == "skipped":
					skippedWant = nonEmptyLines(string(f.Data))
				default:
					writeTestFile(t, filepath.Join(dir, f.Name), f.Data)
				}
			}
			writeTestFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
			ctx := context.Background()
			open := func() *Repo {
				r, err := Open(context.Background(), dir, nil, Options{})
				if err != nil {
					t.Fatal(err)
				}
				r.rules = rs
				return r
			}
			r := open()
			problems := strictProblems(t, r)
			res, err := r.Fix(ctx, FixOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Finding.Rule.ID+": "+s.Reason)
			}
			if len(skipped) != len(skippedWant) {
				t.Errorf("skipped:\n%s\nwant:\n%s", strings.Join(skipped, "\n"), strings.Join(skippedWant, "\n"))
			} else {
				for i := range skipped {
					rule, reason, _ := strings.Cut(skippedWant[i], ": ")
					if !strings.HasPrefix(skipped[i], rule+": ") || !strings.Contains(skipped[i], reason) {
						t.Errorf("skipped[%d] = %q, want %q", i, skipped[i], skippedWant[i])
					}
				}
			}
			if errs := r.WriteFiles(res); len(errs) > 0 {
				t.Fatal(errs)
			}
			changed := res.FixedFiles()
			if golden.Update() {
				ar.Files = slices.DeleteFunc(ar.Files, func(f txtar.File) bool { return strings.HasPrefix(f.Name, "want/") })
				for _, f := range changed {
					ar.Files = append(ar.Files, txtar.File{Name: "want/" + f, Data: res.Files[f]})
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, f := range changed {
				w, ok := want[f]
				if !ok {
					t.Errorf("%s changed but has no want/%s:\n%s", f, f, fix.Diff(f, res.Orig[f], res.Files[f]))
					continue
				}
				if got := string(res.Files[f]); got != w {
					t.Errorf("%s differs from want:\n%s", f, fix.Diff(f, []byte(w), []byte(got)))
				}
			}
			for f := range want {
				if !slices.Contains(changed, f) {
					t.Errorf("want/%s, but %s did not change", f, f)
				}
			}
			// Valid: every object of the fixed repository renders and
			// decodes strictly (no key twice in a mapping), unless it
			// already did not before the fix.
			checkStrictRender(t, open(), problems)
			// Effective on disk: a fresh lint of the written files has no
			// finding that had a fix applied.
			snap, err := open().Lint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range snap.Findings {
				for _, a := range res.Applied {
					if lint.Fingerprint(f) == lint.Fingerprint(a.Finding) {
						t.Errorf("fixed finding still reported: %s %s", f.Rule.ID, f.Message)
					}
				}
			}
			// Idempotent: a second run changes nothing.
			again, err := open().Fix(ctx, FixOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if fs := again.FixedFiles(); len(fs) > 0 || len(again.Applied) > 0 {
				t.Errorf("second run changes %v (%d fixes)", fs, len(again.Applied))
			}
		})
	}
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func writeTestFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWriteFixesSafety checks that a fix never overwrites a file that
// changed on disk after it was read, never writes through a symbolic
// link, and never replaces a file that appeared where a new one goes.
func TestWriteFixesSafety(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: web\n    image: nginx:1.27\n"
	setup := func(t *testing.T) (string, *Repo, *FixResult) {
		dir := t.TempDir()
		writeTestFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
		writeTestFile(t, filepath.Join(dir, "a.yaml"), []byte(pod))
		writeTestFile(t, filepath.Join(dir, "b.yaml"), []byte(strings.ReplaceAll(pod, "web", "api")))
		r, err := Open(context.Background(), dir, nil, Options{})
		if err != nil {
			t.Fatal(err)
		}
		r.rules = testFixRules[:1]
		res, err := r.Fix(context.Background(), FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.FixedFiles(); !slices.Equal(got, []string{"a.yaml", "b.yaml"}) {
			t.Fatalf("fixed files %v", got)
		}
		return dir, r, res
	}
	t.Run("changed underneath", func(t *testing.T) {
		dir, r, res := setup(t)
		edited := []byte(pod + "# edited meanwhile\n")
		writeTestFile(t, filepath.Join(dir, "a.yaml"), edited)
		errs := r.WriteFiles(res)
		var changed *ChangedError
		if len(errs) != 1 || !errors.As(errs[0], &changed) || changed.File != "a.yaml" ||
			!strings.Contains(errs[0].Error(), "a.yaml changed on disk while kubeharden fix was running; nothing was written") {
			t.Fatalf("errors %v", errs)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); string(got) != string(edited) {
			t.Errorf("a.yaml overwritten:\n%s", got)
		}
		// The fixes were verified together: none is written alone.
		if got, _ := os.ReadFile(filepath.Join(dir, "b.yaml")); strings.Contains(string(got), "runAsNonRoot") {
			t.Errorf("b.yaml written although a.yaml changed:\n%s", got)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		dir, r, res := setup(t)
		if err := os.Chmod(filepath.Join(dir, "a.yaml"), 0o444); err != nil {
			t.Fatal(err)
		}
		errs := r.WriteFiles(res)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "a.yaml: not written: read-only (mode 0444)") {
			t.Fatalf("errors %v", errs)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "a.yaml")); string(got) != pod {
			t.Errorf("read-only a.yaml replaced:\n%s", got)
		}
		if st, err := os.Stat(filepath.Join(dir, "a.yaml")); err != nil || st.Mode().Perm() != 0o444 {
			t.Errorf("mode %v, %v", st.Mode(), err)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "b.yaml")); !strings.Contains(string(got), "runAsNonRoot: true") {
			t.Errorf("b.yaml not fixed:\n%s", got)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		dir, r, res := setup(t)
		outside := filepath.Join(t.TempDir(), "outside.yaml")
		writeTestFile(t, outside, []byte(pod))
		if err := os.Remove(filepath.Join(dir, "a.yaml")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "a.yaml")); err != nil {
			t.Fatal(err)
		}
		errs := r.WriteFiles(res)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "a.yaml: not written: not a regular file") {
			t.Fatalf("errors %v", errs)
		}
		if got, _ := os.ReadFile(outside); string(got) != pod {
			t.Errorf("wrote through the symlink:\n%s", got)
		}
	})
	t.Run("mode kept", func(t *testing.T) {
		dir, r, res := setup(t)
		if err := os.Chmod(filepath.Join(dir, "a.yaml"), 0o600); err != nil {
			t.Fatal(err)
		}
		if errs := r.WriteFiles(res); len(errs) > 0 {
			t.Fatal(errs)
		}
		st, err := os.Stat(filepath.Join(dir, "a.yaml"))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, %v", st.Mode(), err)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), "kubeharden-") {
				t.Errorf("temporary file left: %s", e.Name())
			}
		}
	})
	t.Run("new file appeared", func(t *testing.T) {
		dir, r, res := setup(t)
		res.Orig["new.yaml"] = nil
		res.Files["new.yaml"] = []byte("kind: X\n")
		writeTestFile(t, filepath.Join(dir, "new.yaml"), []byte("mine\n"))
		errs := r.WriteFiles(res)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "new.yaml: not written: the file appeared") {
			t.Fatalf("errors %v", errs)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "new.yaml")); string(got) != "mine\n" {
			t.Errorf("new.yaml replaced: %s", got)
		}
	})
}

// TestFixPlannerCRLF checks that a manifest written with CRLF line ends
// keeps them on every line, new ones included.
func TestFixPlannerCRLF(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
	src := strings.ReplaceAll("# a pod\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\nspec:\n  containers:\n    - name: c\n      image: c:1\n", "\n", "\r\n")
	writeTestFile(t, filepath.Join(dir, "pod.yaml"), []byte(src))
	r, err := Open(context.Background(), dir, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.rules = testFixRules[:2]
	res, err := r.Fix(context.Background(), FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := string(res.Files["pod.yaml"])
	want := src + strings.ReplaceAll("      securityContext:\n        readOnlyRootFilesystem: true\n  securityContext:\n    runAsNonRoot: true\n", "\n", "\r\n")
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestVerificationReusesUntouchedRenders: the fixer's verifying lint
// renders again only the targets its edits affect; the others' rendered
// objects are taken over from the lint before the edits.
func TestVerificationReusesUntouchedRenders(t *testing.T) {
	dir := t.TempDir()
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\nspec:\n  containers:\n  - name: c\n    image: c:1\n"
	writeTestFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
	writeTestFile(t, filepath.Join(dir, "a.yaml"), []byte(strings.ReplaceAll(pod, "%s", "a")))
	writeTestFile(t, filepath.Join(dir, "team/b.yaml"), []byte(strings.ReplaceAll(pod, "%s", "b")))
	r, err := Open(context.Background(), dir, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before, err := r.Lint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vr := r.withFiles(map[string][]byte{"a.yaml": []byte(strings.ReplaceAll(pod, "%s", "a2"))})
	vr.reuse, vr.changed = before, []string{"a.yaml"}
	after, err := vr.Lint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	same := func(id string) bool {
		b, a := before.results[id], after.results[id]
		return len(a.objects) == 1 && len(b.objects) == 1 && a.objects[0] == b.objects[0]
	}
	if same("a.yaml") || after.results["a.yaml"].objects[0].Node.Content[5].Content[1].Value != "a2" {
		t.Error("the edited file's target was not rendered again")
	}
	if !same("team/b.yaml") {
		t.Error("the untouched target was rendered again")
	}
}
