package rules

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/kubeharden/kubeharden/lint"
)

const podSecurityModule = "k8s.io/pod-security-admission"

// minParityFixtures guards against passing on a missing or empty fixture
// directory: v0.37.2 ships about 4,500.
const minParityFixtures = 500

// parityExceptions lists fixtures, as "level/version/pass|fail/file", on
// which kubeharden deliberately disagrees with upstream, with the reason.
// There are none: an entry that stops differing fails the test too.
var parityExceptions = map[string]string{}

// TestPodSecurityParity runs every pass and fail fixture that the
// pod-security-admission module ships (the ones its own tests use) at the
// fixture's level and version, and checks that the rules agree with the
// upstream aggregate evaluator, on an independently decoded pod:
//   - a pod is reported exactly when the evaluator forbids it, and by as
//     many distinct checks as the evaluator has failing results;
//   - a fail fixture for check C is reported by C's rule (or, where a
//     restricted check overrides C at that version, by the overriding
//     check's rule);
//   - a pass fixture has no Pod Security finding;
//   - every finding reports the level, version and check it came from.
func TestPodSecurityParity(t *testing.T) {
	root := filepath.Join(podSecurityModuleDir(t), "test", "testdata")
	checks := policy.DefaultChecks()
	evaluator, err := policy.NewEvaluator(checks, nil)
	if err != nil {
		t.Fatal(err)
	}
	byFileName := map[string]policy.CheckID{}
	for _, c := range checks {
		byFileName[strings.ToLower(string(c.ID))] = c.ID
	}
	ruleFor := map[policy.CheckID]string{}
	for _, c := range podSecurityChecks {
		ruleFor[c.check] = c.rule
	}

	counts := map[string]int{}
	seenExceptions := map[string]bool{}
	for _, level := range []api.Level{api.LevelBaseline, api.LevelRestricted} {
		versionDirs, err := filepath.Glob(filepath.Join(root, string(level), "v1.*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, vdir := range versionDirs {
			version := filepath.Base(vdir)
			parsed, err := api.ParseVersion(version)
			if err != nil {
				t.Fatalf("fixture directory %s: %v", vdir, err)
			}
			lv := api.LevelVersion{Level: level, Version: parsed}
			settings := &lint.Settings{PodSecurity: lint.PodSecurityLevel{Level: string(level), Version: version}}
			for _, outcome := range []string{"pass", "fail"} {
				files, err := filepath.Glob(filepath.Join(vdir, outcome, "*.yaml"))
				if err != nil {
					t.Fatal(err)
				}
				for _, file := range files {
					name := strings.TrimSuffix(filepath.Base(file), ".yaml")
					key := fmt.Sprintf("%s/%s/%s/%s", level, version, outcome, name)
					counts[outcome]++
					problems := parityProblems(t, file, lv, settings, evaluator, outcome, name, byFileName, ruleFor)
					if reason, ok := parityExceptions[key]; ok {
						seenExceptions[key] = true
						if len(problems) == 0 {
							t.Errorf("%s: listed as a deliberate difference (%s) but agrees with upstream", key, reason)
						}
						continue
					}
					for _, p := range problems {
						t.Errorf("%s: %s", key, p)
					}
				}
			}
		}
	}
	for key := range parityExceptions {
		if !seenExceptions[key] {
			t.Errorf("parity exception %s names no fixture", key)
		}
	}
	total := counts["pass"] + counts["fail"]
	t.Logf("checked %d upstream fixtures (%d pass, %d fail) from %s", total, counts["pass"], counts["fail"], root)
	if total < minParityFixtures {
		t.Fatalf("found %d fixtures under %s, want at least %d", total, root, minParityFixtures)
	}
}

// parityProblems compares the rules with upstream on one fixture file.
func parityProblems(t *testing.T, file string, lv api.LevelVersion, settings *lint.Settings,
	evaluator policy.Evaluator, outcome, name string,
	byFileName map[string]policy.CheckID, ruleFor map[policy.CheckID]string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := sigsyaml.Unmarshal(src, &pod); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	applyPodDefaults(&pod)
	agg := policy.AggregateCheckResults(evaluator.EvaluatePod(lv, &pod.ObjectMeta, &pod.Spec))
	findings := podSecurityFindings(t, parseObjects(t, string(src)), settings)

	var problems []string
	failed := map[string]bool{}
	for _, f := range findings {
		failed[f.PSS.Check] = true
		if f.PSS.Level != string(lv.Level) || f.PSS.Version != lv.Version.String() {
			problems = append(problems, fmt.Sprintf("%s reports %s:%s", summary(f), f.PSS.Level, f.PSS.Version))
		}
		if want := ruleFor[policy.CheckID(f.PSS.Check)]; f.Rule.ID != want {
			problems = append(problems, fmt.Sprintf("%s reports check %s, whose rule is %s", summary(f), f.PSS.Check, want))
		}
		if len(f.Field) == 0 || f.Message == "" {
			problems = append(problems, fmt.Sprintf("%s has no field or message", summary(f)))
		}
	}
	if agg.Allowed != (len(findings) == 0) {
		problems = append(problems, fmt.Sprintf("upstream allowed=%v (%s), findings: %s",
			agg.Allowed, agg.ForbiddenDetail(), summaries(findings)))
	}
	if len(agg.ForbiddenReasons) != len(failed) {
		problems = append(problems, fmt.Sprintf("upstream fails %d checks (%s), rules report %d: %s",
			len(agg.ForbiddenReasons), agg.ForbiddenDetail(), len(failed), summaries(findings)))
	}
	switch outcome {
	case "pass":
		if len(findings) > 0 {
			problems = append(problems, "pass fixture has findings: "+summaries(findings))
		}
	case "fail":
		check, ok := byFileName[strings.TrimRight(name, "0123456789")]
		if !ok {
			return append(problems, "fail fixture names no known check")
		}
		want := effectiveCheck(check, lv)
		if !failed[string(want)] {
			problems = append(problems, fmt.Sprintf("want a %s finding (check %s), got: %s", ruleFor[want], want, summaries(findings)))
		}
	}
	return problems
}

// applyPodDefaults sets the API server's defaults that PodSecurity
// verdicts depend on (SetDefaults_Volume, and SetDefaults_Pod's host
// network ports), as the API server does before upstream's own fixture
// tests reach the admission.
func applyPodDefaults(pod *corev1.Pod) {
	for i := range pod.Spec.Volumes {
		if ptr.AllPtrFieldsNil(&pod.Spec.Volumes[i].VolumeSource) {
			pod.Spec.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}
	}
	if pod.Spec.HostNetwork {
		for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
			for i := range cs {
				for j := range cs[i].Ports {
					if cs[i].Ports[j].HostPort == 0 {
						cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
					}
				}
			}
		}
	}
}

// effectiveCheck is the check that reports a violation of id at lv: id
// itself, or at restricted the restricted check whose version at lv lists
// id in OverrideCheckIDs. Written from the registry's documented rules,
// independently of podSecurityPolicy.at.
func effectiveCheck(id policy.CheckID, lv api.LevelVersion) policy.CheckID {
	if lv.Level != api.LevelRestricted {
		return id
	}
	for _, c := range policy.DefaultChecks() {
		if c.Level != api.LevelRestricted {
			continue
		}
		var current *policy.VersionedCheck
		for i := range c.Versions {
			if !lv.Version.Older(c.Versions[i].MinimumVersion) {
				current = &c.Versions[i]
			}
		}
		if current != nil && slices.Contains(current.OverrideCheckIDs, id) {
			return c.ID
		}
	}
	return id
}

func summaries(fs []lint.Finding) string {
	if len(fs) == 0 {
		return "none"
	}
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = summary(f)
	}
	return strings.Join(s, "; ")
}

// TestPodSecurityResolution compares the checks run per level and version
// with the upstream registry result by result, for every policy version up
// to two past the newest, "latest", and with an emulated cluster version.
func TestPodSecurityResolution(t *testing.T) {
	pp := upstreamPolicy()
	var pods []*corev1.Pod
	for _, r := range podSecurityRules {
		for _, src := range []string{r.Before, r.After} {
			obj := parseObjects(t, src)[0]
			pt, err := obj.PodTemplate()
			if err != nil {
				t.Fatal(err)
			}
			pods = append(pods, &corev1.Pod{ObjectMeta: pt.Meta, Spec: pt.Spec})
		}
	}
	versions := []api.Version{api.LatestVersion()}
	for minor := 0; minor <= pp.maxVersion.Minor()+2; minor++ {
		versions = append(versions, api.MajorMinorVersion(1, minor))
	}
	emulations := []*api.Version{nil}
	for _, minor := range []int{18, 25, 33, pp.maxVersion.Minor() + 1} {
		v := api.MajorMinorVersion(1, minor)
		emulations = append(emulations, &v)
	}
	for _, emulation := range emulations {
		evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), emulation)
		if err != nil {
			t.Fatal(err)
		}
		for _, level := range []api.Level{api.LevelPrivileged, api.LevelBaseline, api.LevelRestricted} {
			for _, version := range versions {
				lv := api.LevelVersion{Level: level, Version: version}
				applied := pp.at(lv, emulation)
				for _, pod := range pods {
					want := evaluator.EvaluatePod(lv, &pod.ObjectMeta, &pod.Spec)
					got := make([]policy.CheckResult, len(applied))
					for i, c := range applied {
						got[i] = c.versioned.CheckPod(&pod.ObjectMeta, &pod.Spec)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("%s (emulating %v): results differ from the registry:\n got %+v\nwant %+v", lv, emulation, got, want)
					}
				}
			}
		}
	}
}

func TestParseLevelVersion(t *testing.T) {
	for _, tt := range []struct {
		level, version string
		want           string
	}{
		{"baseline", "v1.22", "baseline:v1.22"},
		{"privileged", "latest", "privileged:latest"},
		{"restricted", "v1.99", "restricted:v1.99"},
		{"Baseline", "latest", "restricted:latest"}, // levels are case-sensitive
		{"strict", "v1.22", "restricted:v1.22"},
		{"baseline", "1.22", "baseline:latest"},
		{"baseline", "v2.0", "baseline:latest"},
	} {
		if got := parseLevelVersion(lint.PodSecurityLevel{Level: tt.level, Version: tt.version}).String(); got != tt.want {
			t.Errorf("parseLevelVersion(%q, %q) = %s, want %s", tt.level, tt.version, got, tt.want)
		}
	}
}

// podSecurityModuleDir finds the pod-security-admission module in the
// module cache, through the go command (which works offline) or, failing
// that, through the test binary's build info and GOMODCACHE.
func podSecurityModuleDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", podSecurityModule).Output()
	if dir := strings.TrimSpace(string(out)); err == nil && dir != "" {
		return dir
	}
	listErr := err
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatalf("go list -m %s: %v; and no build info", podSecurityModule, listErr)
	}
	version := ""
	for _, d := range bi.Deps {
		if d.Path == podSecurityModule {
			version = d.Version
			if d.Replace != nil {
				version = d.Replace.Version
			}
		}
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if gopath := os.Getenv("GOPATH"); gopath != "" {
			cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
		} else if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, "go", "pkg", "mod")
		}
	}
	dir := filepath.Join(cache, filepath.FromSlash(podSecurityModule)+"@"+version)
	if version == "" || cache == "" {
		t.Fatalf("cannot locate %s: go list failed (%v) and build info has no version", podSecurityModule, listErr)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("cannot locate %s: go list failed (%v); %v", podSecurityModule, listErr, err)
	}
	return dir
}
