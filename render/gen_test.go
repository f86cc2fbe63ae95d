package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Generated repositories for the cache tests and the rendering
// benchmarks. Nothing here is committed as a fixture: each is written to a
// temporary directory.

// writeTree writes files (slash paths relative to dir) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sharedBaseRepo is a Kustomize base of a Deployment, a Service and a
// ConfigMap (three files, one of them patched in the base itself) and
// overlays over it, each with a name prefix, a namespace and a patch of
// its own: overlays/o<i>.
func sharedBaseRepo(overlays int) map[string]string {
	files := map[string]string{
		"base/kustomization.yaml": "resources:\n- deployment.yaml\n- service.yaml\n- config.yaml\npatches:\n- path: resources.yaml\n",
		"base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.4.2
        ports:
        - containerPort: 8080
        env:
        - name: LOG_LEVEL
          value: info
        volumeMounts:
        - name: config
          mountPath: /etc/web
      volumes:
      - name: config
        configMap:
          name: web-config
`,
		"base/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
`,
		"base/config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  web.conf: |
    listen 8080
    workers 4
`,
		"base/resources.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        resources:
          requests: {cpu: 100m, memory: 128Mi}
`,
	}
	for i := range overlays {
		o := fmt.Sprintf("overlays/o%d/", i)
		files[o+"kustomization.yaml"] = fmt.Sprintf("namePrefix: o%d-\nnamespace: team-%d\nresources:\n- ../../base\npatches:\n- path: replicas.yaml\n", i, i)
		files[o+"replicas.yaml"] = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: %d\n", 3+i%5)
	}
	return files
}

// chartRepo is n generated charts, charts/c<i>, each a chart as helm
// create would start one and a team would grow it: helpers used through
// include, values with nested maps, and a range over a map of workers.
// Each renders chartObjects objects.
func chartRepo(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		c := fmt.Sprintf("charts/c%d/", i)
		files[c+"Chart.yaml"] = fmt.Sprintf("apiVersion: v2\nname: c%d\nversion: 1.%d.0\nappVersion: \"2.%d\"\n", i, i, i)
		files[c+"values.yaml"] = chartValues
		files[c+"templates/_helpers.tpl"] = chartHelpers
		files[c+"templates/deployment.yaml"] = chartDeployment
		files[c+"templates/service.yaml"] = chartService
		files[c+"templates/configmap.yaml"] = chartConfigMap
		files[c+"templates/serviceaccount.yaml"] = chartServiceAccount
		files[c+"templates/workers.yaml"] = chartWorkers
		files[c+"templates/NOTES.txt"] = "Installed {{ include \"app.fullname\" . }}.\n"
	}
	return files
}

// chartObjects is what one chart of chartRepo renders: a Deployment, a
// Service, a ConfigMap, a ServiceAccount, and a Deployment and a Service
// for each of three workers.
const chartObjects = 10

const chartValues = `replicaCount: 2
image:
  repository: registry.example.com/app
  tag: ""
  pullPolicy: IfNotPresent
serviceAccount:
  create: true
  annotations: {}
podSecurityContext:
  runAsNonRoot: true
  seccompProfile: {type: RuntimeDefault}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  capabilities: {drop: [ALL]}
service:
  type: ClusterIP
  port: 80
resources:
  limits: {cpu: 500m, memory: 256Mi}
  requests: {cpu: 100m, memory: 128Mi}
config:
  server:
    port: 8080
    timeouts: {read: 5s, write: 10s}
  features: {search: true, export: false}
workers:
  mailer: {replicas: 1, queue: mail, port: 9001}
  indexer: {replicas: 2, queue: index, port: 9002}
  thumbnailer: {replicas: 1, queue: images, port: 9003}
`

const chartHelpers = `{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "app.fullname" -}}
{{- if contains (include "app.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "app.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "app.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
`

const chartDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
      labels:
        {{- include "app.selectorLabels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "app.fullname" . }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
      - name: app
        image: {{ include "app.image" . | quote }}
        imagePullPolicy: {{ .Values.image.pullPolicy }}
        securityContext:
          {{- toYaml .Values.securityContext | nindent 10 }}
        ports:
        - name: http
          containerPort: {{ .Values.config.server.port }}
        resources:
          {{- toYaml .Values.resources | nindent 10 }}
        volumeMounts:
        - name: config
          mountPath: /etc/app
      volumes:
      - name: config
        configMap:
          name: {{ include "app.fullname" . }}
`

const chartService = `apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
  - port: {{ .Values.service.port }}
    targetPort: http
    name: http
  selector:
    {{- include "app.selectorLabels" . | nindent 4 }}
`

const chartConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
data:
  config.yaml: |
    {{- toYaml .Values.config | nindent 4 }}
`

const chartServiceAccount = `{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end }}
`

const chartWorkers = `{{- range $name, $w := .Values.workers }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" $ }}-{{ $name }}
  labels:
    {{- include "app.labels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ $name }}
spec:
  replicas: {{ $w.replicas }}
  selector:
    matchLabels:
      {{- include "app.selectorLabels" $ | nindent 6 }}
      app.kubernetes.io/component: {{ $name }}
  template:
    metadata:
      labels:
        {{- include "app.selectorLabels" $ | nindent 8 }}
        app.kubernetes.io/component: {{ $name }}
    spec:
      securityContext:
        {{- toYaml $.Values.podSecurityContext | nindent 8 }}
      containers:
      - name: {{ $name }}
        image: {{ include "app.image" $ | quote }}
        args: [worker, --queue, {{ $w.queue }}]
        securityContext:
          {{- toYaml $.Values.securityContext | nindent 10 }}
        ports:
        - name: metrics
          containerPort: {{ $w.port }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "app.fullname" $ }}-{{ $name }}
spec:
  selector:
    {{- include "app.selectorLabels" $ | nindent 4 }}
    app.kubernetes.io/component: {{ $name }}
  ports:
  - name: metrics
    port: {{ $w.port }}
{{- end }}
`

// renderTargets renders targets on r with GOMAXPROCS workers, as the
// linter does, and returns the objects of each target.
func renderTargets(t testing.TB, r *Renderer, targets []*Target) [][]*Object {
	return renderWith(t, targets, func() *Renderer { return r })
}

// renderWith is renderTargets rendering each target on the renderer
// rendererFor returns for it.
func renderWith(t testing.TB, targets []*Target, rendererFor func() *Renderer) [][]*Object {
	out := make([][]*Object, len(targets))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res, err := rendererFor().Render(context.Background(), targets[i])
				objs := res.Objects
				if err != nil {
					t.Errorf("render %s: %v", targets[i].Path, err)
				}
				out[i] = objs
			}
		}()
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// countReads makes fsys count the files it reads from disk.
func countReads(fsys *FS) func() map[string]int {
	var mu sync.Mutex
	reads := map[string]int{}
	fsys.onRead = func(rel string) {
		mu.Lock()
		reads[rel]++
		mu.Unlock()
	}
	return func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := make(map[string]int, len(reads))
		for k, v := range reads {
			out[k] = v
		}
		return out
	}
}

// checkReadOnce fails for every file under prefix read more than once,
// and when none was read at all.
func checkReadOnce(t *testing.T, reads map[string]int, prefix string) {
	t.Helper()
	seen := 0
	for p, n := range reads {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		seen++
		if n != 1 {
			t.Errorf("%s read %d times, want once", p, n)
		}
	}
	if seen == 0 {
		t.Errorf("nothing under %s read", prefix)
	}
}
