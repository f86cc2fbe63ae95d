package rules

import (
	"context"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/kubeharden/kubeharden/lint"
)

// parseObjects reads a multi-document YAML stream into objects.
func parseObjects(t *testing.T, src string) []*lint.Object {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(src))
	var objs []*lint.Object
	for {
		n := new(yaml.Node)
		err := dec.Decode(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse YAML: %v", err)
		}
		if len(n.Content) == 0 {
			continue
		}
		objs = append(objs, lint.NewObject(n.Content[0], "target", nil))
	}
	return objs
}

// podSecurityFindings runs the whole catalogue and keeps the Pod Security
// findings.
func podSecurityFindings(t *testing.T, objs []*lint.Object, s *lint.Settings) []lint.Finding {
	t.Helper()
	fs, err := lint.Run(context.Background(), objs, All(), s)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return slices.DeleteFunc(fs, func(f lint.Finding) bool { return f.PSS == nil })
}

// summary is one finding as "rule field message".
func summary(f lint.Finding) string {
	return f.Rule.ID + " " + f.Field.String() + " " + f.Message
}

func TestPodSecurity(t *testing.T) {
	tests := []struct {
		name     string
		settings lint.Settings
		src      string
		want     []string
	}{
		{
			name: "container lacking runAsNonRoot points at the pod",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      securityContext:
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: web:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-run-as-non-root spec.template.spec.securityContext.runAsNonRoot pod or container "web" must set securityContext.runAsNonRoot=true (restricted:latest)`,
			},
		},
		{
			name: "container setting runAsNonRoot false points at the container",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: web:1
        securityContext:
          runAsNonRoot: false
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-run-as-non-root spec.template.spec.containers[name=web].securityContext.runAsNonRoot container "web" must not set securityContext.runAsNonRoot=false (restricted:latest)`,
			},
		},
		{
			name: "pod setting runAsNonRoot false is one pod-level finding",
			src: `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  securityContext:
    runAsNonRoot: false
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: web
    image: web:1
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
  - name: sidecar
    image: sidecar:1
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-run-as-non-root spec.securityContext.runAsNonRoot pod must not set securityContext.runAsNonRoot=false (restricted:latest)`,
			},
		},
		{
			name: "cronjob paths go through the job template",
			src: `apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  schedule: "@daily"
  jobTemplate:
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: true
            seccompProfile: {type: RuntimeDefault}
          containers:
          - name: backup
            image: backup:1
            securityContext:
              capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-allow-privilege-escalation spec.jobTemplate.spec.template.spec.containers[name=backup].securityContext.allowPrivilegeEscalation container "backup" must set securityContext.allowPrivilegeEscalation=false (restricted:latest)`,
			},
		},
		{
			name: "only the offending container of several is named",
			src: `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      initContainers:
      - name: init
        image: init:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL], add: [NET_BIND_SERVICE, NET_RAW]}
      containers:
      - name: db
        image: db:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
      - name: exporter
        image: exporter:1
        securityContext:
          allowPrivilegeEscalation: false
`,
			want: []string{
				`pss-capabilities-restricted spec.template.spec.containers[name=exporter].securityContext.capabilities.drop container "exporter" must set securityContext.capabilities.drop=["ALL"] (restricted:latest)`,
				`pss-capabilities-restricted spec.template.spec.initContainers[name=init].securityContext.capabilities.add container "init" must not include "NET_RAW" in securityContext.capabilities.add (restricted:latest); not removed automatically, as the application may need them`,
			},
		},
		{
			name: "namespace labelled baseline: restricted checks do not apply",
			src: `apiVersion: v1
kind: Namespace
metadata:
  name: legacy
  labels:
    pod-security.kubernetes.io/enforce: baseline
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: legacy}
spec:
  template:
    spec:
      hostNetwork: true
      hostPID: true
      containers:
      - name: web
        image: web:1
        ports:
        - containerPort: 8080
          hostPort: 80
`,
			want: []string{
				`pss-host-namespaces spec.template.spec.hostNetwork pod must not set hostNetwork=true (baseline:latest)`,
				`pss-host-namespaces spec.template.spec.hostPID pod must not set hostPID=true (baseline:latest)`,
				`pss-host-ports spec.template.spec.containers[name=web].ports[containerPort=8080].hostPort container "web" uses hostPort 80 (baseline:latest)`,
			},
		},
		{
			name: "namespace labelled privileged: nothing applies",
			src: `apiVersion: v1
kind: Namespace
metadata:
  name: system
  labels:
    pod-security.kubernetes.io/enforce: privileged
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: system}
spec:
  template:
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: agent:1
        securityContext: {privileged: true}
`,
		},
		{
			name: "enforce-version v1.22 runs the v1.22 policy",
			src: `apiVersion: v1
kind: Namespace
metadata:
  name: old
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: v1.22
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: old}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 0
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: web:1
        readinessProbe:
          httpGet: {host: 10.0.0.1, path: /, port: 80}
        securityContext:
          allowPrivilegeEscalation: false
`,
			// runAsUser (v1.23+) and hostProbesAndHostLifecycle (v1.34+)
			// are not part of the v1.22 policy.
			want: []string{
				`pss-capabilities-restricted spec.template.spec.containers[name=web].securityContext.capabilities.drop container "web" must set securityContext.capabilities.drop=["ALL"] (restricted:v1.22)`,
			},
		},
		{
			name: "unparsable labels fall back to restricted:latest like the admission",
			src: `apiVersion: v1
kind: Namespace
metadata:
  name: typo
  labels:
    pod-security.kubernetes.io/enforce: strict
    pod-security.kubernetes.io/enforce-version: "1.22"
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: typo}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 0
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: web:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-run-as-user spec.template.spec.securityContext.runAsUser pod must not set runAsUser=0 (restricted:latest)`,
			},
		},
		{
			name:     "settings give the level of unlabelled namespaces",
			settings: lint.Settings{PodSecurity: lint.PodSecurityLevel{Level: "baseline"}},
			src: `apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: tools}
spec:
  initContainers:
  - name: setup
    image: setup:1
    securityContext: {privileged: true}
  containers:
  - name: debug
    image: debug:1
  ephemeralContainers:
  - name: shell
    image: busybox
    securityContext:
      capabilities: {add: [SYS_PTRACE]}
`,
			want: []string{
				`pss-capabilities-baseline spec.ephemeralContainers[name=shell].securityContext.capabilities.add container "shell" must not include "SYS_PTRACE" in securityContext.capabilities.add (baseline:latest); not removed automatically, as the application may need them`,
				`pss-privileged spec.initContainers[name=setup].securityContext.privileged container "setup" must not set securityContext.privileged=true (baseline:latest)`,
			},
		},
		{
			name:     "volumes and sysctls are reported one by one",
			settings: lint.Settings{PodSecurity: lint.PodSecurityLevel{Level: "restricted"}},
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
        sysctls:
        - {name: net.ipv4.ip_unprivileged_port_start, value: "0"}
        - {name: kernel.msgmax, value: "65536"}
        - {name: net.core.somaxconn, value: "1024"}
      volumes:
      - name: config
        configMap: {name: web}
      - name: logs
        hostPath: {path: /var/log}
      - name: shared
        nfs: {server: nfs.internal, path: /shared}
      containers:
      - name: web
        image: web:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-restricted-volumes spec.template.spec.volumes[name=logs] volume "logs" uses restricted volume type "hostPath" (restricted:latest)`,
				`pss-restricted-volumes spec.template.spec.volumes[name=shared] volume "shared" uses restricted volume type "nfs" (restricted:latest)`,
				`pss-sysctls spec.template.spec.securityContext.sysctls[name=kernel.msgmax] pod must not set sysctl "kernel.msgmax" (restricted:latest)`,
				`pss-sysctls spec.template.spec.securityContext.sysctls[name=net.core.somaxconn] pod must not set sysctl "net.core.somaxconn" (restricted:latest)`,
			},
		},
		{
			name: "seccomp: a bad container profile and a missing one",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
      - name: web
        image: web:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          seccompProfile: {type: Unconfined}
      - name: sidecar
        image: sidecar:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-seccomp-restricted spec.template.spec.containers[name=web].securityContext.seccompProfile.type container "web" must not set securityContext.seccompProfile.type to "Unconfined" (restricted:latest)`,
				`pss-seccomp-restricted spec.template.spec.securityContext.seccompProfile pod or container "sidecar" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost" (restricted:latest)`,
			},
		},
		{
			name:     "the targeted Kubernetes version caps latest",
			settings: lint.Settings{KubernetesVersion: "1.33"},
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: web:1
        livenessProbe:
          tcpSocket: {host: 10.0.0.1, port: 80}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			// hostProbesAndHostLifecycle starts at policy v1.34.
		},
		{
			name: "without a targeted version latest is the newest policy",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      containers:
      - name: web
        image: web:1
        livenessProbe:
          tcpSocket: {host: 10.0.0.1, port: 80}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
			want: []string{
				`pss-host-probes-lifecycle spec.template.spec.containers[name=web].livenessProbe.tcpSocket.host container "web" uses probe or lifecycle host "10.0.0.1" (restricted:latest)`,
			},
		},
		{
			name: "a volume without a source is the emptyDir the API server makes it",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      volumes:
      - name: scratch
      containers:
      - name: web
        image: web:1
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
`,
		},
		{
			name:     "a host-network Pod gets hostPorts from the API server",
			settings: lint.Settings{PodSecurity: lint.PodSecurityLevel{Level: "baseline"}},
			src: `apiVersion: v1
kind: Pod
metadata: {name: agent}
spec:
  hostNetwork: true
  containers:
  - name: agent
    image: agent:1
    ports:
    - containerPort: 9100
`,
			want: []string{
				`pss-host-namespaces spec.hostNetwork pod must not set hostNetwork=true (baseline:latest)`,
				`pss-host-ports spec.containers[name=agent].ports[containerPort=9100].hostPort container "agent" uses hostPort 9100 (baseline:latest)`,
			},
		},
		{
			name:     "a host-network template does not (since v1.28)",
			settings: lint.Settings{PodSecurity: lint.PodSecurityLevel{Level: "baseline"}},
			src: `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  template:
    spec:
      hostNetwork: true
      containers:
      - name: agent
        image: agent:1
        ports:
        - containerPort: 9100
`,
			want: []string{
				`pss-host-namespaces spec.template.spec.hostNetwork pod must not set hostNetwork=true (baseline:latest)`,
			},
		},
		{
			name: "a pod template that does not decode is left to other rules",
			src: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers: not-a-list
`,
		},
		{
			name: "objects without a pod template are ignored",
			src: `apiVersion: v1
kind: ConfigMap
metadata: {name: web}
data: {hostNetwork: "true"}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := podSecurityFindings(t, parseObjects(t, tt.src), &tt.settings)
			var got []string
			for _, f := range fs {
				got = append(got, summary(f))
				if f.PSS.Check == "" || f.PSS.Level == "" || f.PSS.Version == "" {
					t.Errorf("%s: incomplete PSS %+v", summary(f), *f.PSS)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestPodSecurityFindingPSS(t *testing.T) {
	src := `apiVersion: v1
kind: Namespace
metadata:
  name: old
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/enforce-version: v1.24
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: old}
spec:
  hostIPC: true
  containers:
  - {name: c, image: c}
`
	fs := podSecurityFindings(t, parseObjects(t, src), &lint.Settings{})
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want 1", len(fs))
	}
	want := lint.PSS{Level: "baseline", Version: "v1.24", Check: "hostNamespaces"}
	if *fs[0].PSS != want {
		t.Errorf("PSS = %+v, want %+v", *fs[0].PSS, want)
	}
	if fs[0].Severity != lint.Critical {
		t.Errorf("severity = %v, want critical", fs[0].Severity)
	}
}

// TestPodSecurityCatalogue checks the rules as data: one per upstream
// check, complete metadata, and examples that do what they say.
func TestPodSecurityCatalogue(t *testing.T) {
	upstream := map[policy.CheckID]api.Level{}
	for _, c := range policy.DefaultChecks() {
		upstream[c.ID] = c.Level
	}
	seen := map[policy.CheckID]bool{}
	for _, c := range podSecurityChecks {
		if _, ok := upstream[c.check]; !ok {
			t.Errorf("%s: check %q is not in policy.DefaultChecks()", c.rule, c.check)
		}
		if seen[c.check] {
			t.Errorf("check %q has two rules", c.check)
		}
		seen[c.check] = true
	}
	for id := range upstream {
		if !seen[id] {
			t.Errorf("upstream check %q has no rule", id)
		}
	}

	kebab := regexp.MustCompile(`^pss(-[a-z0-9]+)+$`)
	all := All()
	ids := map[string]bool{}
	for _, r := range all {
		if ids[r.ID] {
			t.Errorf("rule %s listed twice in All()", r.ID)
		}
		ids[r.ID] = true
	}
	if len(podSecurityRules) != len(podSecurityChecks) {
		t.Errorf("%d Pod Security rules for %d checks", len(podSecurityRules), len(podSecurityChecks))
	}
	for i, c := range podSecurityChecks {
		r := ByID(c.rule)
		if r == nil {
			t.Errorf("check %q: rule %q is not in the catalogue", c.check, c.rule)
			continue
		}
		if i >= len(podSecurityRules) || podSecurityRules[i] != r {
			t.Errorf("%s: not at index %d of podSecurityRules, the order of podSecurityChecks", r.ID, i)
		}
		level := upstream[c.check]
		switch {
		case !strings.Contains(r.Doc, "This is the `"+string(c.check)+"` check"):
			t.Errorf("%s: doc names another check than %q", r.ID, c.check)
		case !kebab.MatchString(r.ID):
			t.Errorf("%s: ID is not pss- kebab-case", r.ID)
		case !ids[r.ID]:
			t.Errorf("%s: missing from All()", r.ID)
		case r.Title == "" || !unicode.IsLower([]rune(r.Title)[0]) || strings.HasSuffix(r.Title, "."):
			t.Errorf("%s: title %q must be lowercase without a final period", r.ID, r.Title)
		case !strings.Contains(r.Doc, pssURL):
			t.Errorf("%s: doc does not link the Pod Security Standards", r.ID)
		case !strings.HasSuffix(r.Remediation, "."):
			t.Errorf("%s: remediation %q is not a sentence", r.ID, r.Remediation)
		case r.Check == nil || r.Run != nil:
			t.Errorf("%s: want Check and no Run", r.ID)
		case !slices.Equal(r.Kinds, workloadKinds):
			t.Errorf("%s: kinds %v", r.ID, r.Kinds)
		case level == api.LevelRestricted && r.Severity != lint.Medium:
			t.Errorf("%s: restricted checks are medium, got %v", r.ID, r.Severity)
		case level == api.LevelBaseline && r.Severity < lint.High:
			t.Errorf("%s: baseline checks are high or critical, got %v", r.ID, r.Severity)
		}
		for _, k := range r.Kinds {
			if !lint.IsWorkload(k) {
				t.Errorf("%s: kind %s has no pod template", r.ID, k)
			}
		}

		// Before fails this rule, and only this rule, at the check's own
		// level; After passes every check at restricted:latest.
		before := podSecurityFindings(t, parseObjects(t, r.Before), &lint.Settings{
			PodSecurity: lint.PodSecurityLevel{Level: string(level), Version: "latest"},
		})
		fired := false
		for _, f := range before {
			if f.Rule.ID == r.ID {
				fired = true
				if f.PSS.Check != string(c.check) {
					t.Errorf("%s: finding reports check %q", r.ID, f.PSS.Check)
				}
			} else if !slices.Contains(exampleAlsoFires[r.ID], f.Rule.ID) {
				t.Errorf("%s: Before also fails %s: %s", r.ID, f.Rule.ID, f.Message)
			}
		}
		if !fired {
			t.Errorf("%s: Before does not fail the rule:\n%s", r.ID, r.Before)
		}
		for _, f := range podSecurityFindings(t, parseObjects(t, r.After), &lint.Settings{}) {
			t.Errorf("%s: After fails %s: %s", r.ID, summary(f), r.After)
		}
	}
}

// exampleAlsoFires lists the other rules a Before example fails, when a
// realistic example cannot avoid it.
var exampleAlsoFires = map[string][]string{
	// HostProcess containers must use the host network.
	"pss-windows-host-process": {"pss-host-namespaces"},
}

func TestEmulationVersion(t *testing.T) {
	for in, want := range map[string]string{
		"1.30": "v1.30", "v1.30": "v1.30", "1.30.4": "v1.30", "v1.9.0": "v1.9",
		"": "", "latest": "", "2.0": "", "1.x": "",
	} {
		got := ""
		if v := emulationVersion(in); v != nil {
			got = v.String()
		}
		if got != want {
			t.Errorf("emulationVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
