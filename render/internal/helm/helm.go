package helm

import (
	"bytes"
	"io"
	"os"
	"strings"

	"k8s.io/client-go/dynamic"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/strvals"
)

// File is a file of a chart: its name relative to the chart directory
// (or archive root) and its bytes.
type File struct {
	Name string
	Data []byte
}

// MaxDecompressedChartSize is the bound Helm's loader puts on the bytes
// of the files of a packaged chart.
var MaxDecompressedChartSize = loader.MaxDecompressedChartSize

// LoadArchiveFiles reads the files of a packaged chart (a .tgz).
func LoadArchiveFiles(r io.Reader) ([]*File, error) {
	bfs, err := loader.LoadArchiveFiles(r)
	if err != nil {
		return nil, err
	}
	files := make([]*File, len(bfs))
	for i, f := range bfs {
		files[i] = &File{Name: f.Name, Data: f.Data}
	}
	return files, nil
}

// LoadFiles assembles a chart from its own files, as Helm's
// loader.LoadFiles does. The chart shares the files' bytes.
func LoadFiles(files []*File) (*Chart, error) {
	bfs := make([]*loader.BufferedFile, len(files))
	for i, f := range files {
		bfs[i] = &loader.BufferedFile{Name: f.Name, Data: f.Data}
	}
	c, err := loader.LoadFiles(bfs)
	if err != nil {
		return nil, err
	}
	return &Chart{c: c}, nil
}

// Chart is an assembled chart. Rendering changes it (dependency
// processing drops disabled subcharts and renames aliased ones), so a
// Chart serves one render.
type Chart struct{ c *chart.Chart }

// ChartKey identifies the files a chart was loaded from: a chart and the
// alias copies dependency processing makes of it have the same key.
type ChartKey struct{ f *chart.File }

// Key returns the chart's key; ok is false for a chart without files.
func (c *Chart) Key() (key ChartKey, ok bool) {
	if len(c.c.Raw) == 0 {
		return ChartKey{}, false
	}
	return ChartKey{c.c.Raw[0]}, true
}

// Name is the chart's name from Chart.yaml.
func (c *Chart) Name() string { return c.c.Name() }

// Version is the chart's version from Chart.yaml.
func (c *Chart) Version() string { return c.c.Metadata.Version }

// FullPath is the chart's path in the engine's template names
// ("web/charts/db").
func (c *Chart) FullPath() string { return c.c.ChartFullPath() }

// Schema is the chart's values.schema.json, or nil.
func (c *Chart) Schema() []byte { return c.c.Schema }

// AddDependency adds sub as a subchart.
func (c *Chart) AddDependency(sub *Chart) { c.c.AddDependency(sub.c) }

// Dependencies returns the chart's subcharts.
func (c *Chart) Dependencies() []*Chart {
	deps := c.c.Dependencies()
	out := make([]*Chart, len(deps))
	for i, d := range deps {
		out[i] = &Chart{c: d}
	}
	return out
}

// Files returns the chart's files that are neither templates nor
// Chart.yaml, values.yaml or the schema (crds/..., for instance).
func (c *Chart) Files() []File {
	out := make([]File, 0, len(c.c.Files))
	for _, f := range c.c.Files {
		out = append(out, File{Name: f.Name, Data: f.Data})
	}
	return out
}

// Template is one template of a chart.
type Template struct{ f *chart.File }

// Templates returns the chart's own templates, not its subcharts'.
func (c *Chart) Templates() []Template {
	out := make([]Template, 0, len(c.c.Templates))
	for _, f := range c.c.Templates {
		if f != nil {
			out = append(out, Template{f})
		}
	}
	return out
}

// Name is the template's name relative to the chart (templates/x.yaml).
func (t Template) Name() string { return t.f.Name }

// Data is the template's source.
func (t Template) Data() []byte { return t.f.Data }

// SetData replaces the template's source for the render; the old bytes
// are not changed.
func (t Template) SetData(data []byte) { t.f.Data = data }

// Ignore is a chart's .helmignore rules.
type Ignore struct{ r *ignore.Rules }

// HelmIgnore is the name of the ignore file in a chart directory.
const HelmIgnore = ignore.HelmIgnore

// EmptyIgnore returns rules that ignore nothing.
func EmptyIgnore() *Ignore { return &Ignore{ignore.Empty()} }

// ParseIgnore parses .helmignore data.
func ParseIgnore(data []byte) (*Ignore, error) {
	r, err := ignore.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return &Ignore{r}, nil
}

// AddDefaults adds the rules Helm always applies (templates/.?*).
func (i *Ignore) AddDefaults() { i.r.AddDefaults() }

// Ignore reports whether the file or directory at path, relative to the
// chart, is left out of the chart.
func (i *Ignore) Ignore(path string, fi os.FileInfo) bool { return i.r.Ignore(path, fi) }

// ReadValues decodes a values file as helm does (sigs.k8s.io/yaml: YAML
// through JSON, so numbers and strings get Helm's types). Empty data is
// an empty map.
func ReadValues(data []byte) (map[string]any, error) {
	v, err := chartutil.ReadValues(data)
	return v, err
}

// ParseInto merges one --set parameter ("a.b=c,d[0]=e") into dest.
func ParseInto(set string, dest map[string]any) error { return strvals.ParseInto(set, dest) }

// PathValue returns the value at a dotted path ("sub.enabled") of
// values, as chart conditions read it.
func PathValue(vals map[string]any, path string) (any, error) {
	return chartutil.Values(vals).PathValue(path)
}

// AsMap returns v as a values mapping when it is one: a map[string]any
// or the values type Helm builds.
func AsMap(v any) (map[string]any, bool) {
	switch v := v.(type) {
	case map[string]any:
		return v, true
	case chartutil.Values:
		return v, true
	}
	return nil, false
}

// CoalesceValues returns vals coalesced with the chart's defaults and
// its subcharts', as Helm computes them for a render. It changes vals.
func CoalesceValues(c *Chart, vals map[string]any) (map[string]any, error) {
	v, err := chartutil.CoalesceValues(c.c, vals)
	return v, err
}

// IsCompatibleRange reports whether version satisfies the semver
// constraint.
func IsCompatibleRange(constraint, version string) bool {
	return chartutil.IsCompatibleRange(constraint, version)
}

// Capabilities are what templates see as .Capabilities.
type Capabilities struct{ c *chartutil.Capabilities }

// NewCapabilities returns Helm's default capabilities (the API versions
// of the compiled-in Kubernetes libraries) for a cluster of Kubernetes
// kubeVersion ("v1.31.0", "1.31"). A version without a patch number is
// completed with .0, as a cluster reports it.
func NewCapabilities(kubeVersion string) (*Capabilities, error) {
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, err
	}
	if strings.Count(kv.Version, ".") == 1 {
		// "1.31" parses as the generic version v1.31; a cluster reports
		// v1.31.0, and that is what charts compare against.
		kv.Version += ".0"
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return &Capabilities{caps}, nil
}

// KubeVersion is the Kubernetes version ("v1.31.0").
func (c *Capabilities) KubeVersion() string { return c.c.KubeVersion.String() }

// ProcessDependenciesWithMerge drops the subcharts vals disable, applies
// aliases and import-values, as helm install does before rendering.
func ProcessDependenciesWithMerge(c *Chart, vals map[string]any) error {
	return chartutil.ProcessDependenciesWithMerge(c.c, vals)
}

// Release is what templates see of the release (.Release).
type Release struct {
	Name, Namespace string
	IsInstall       bool
	Revision        int
}

// RenderValues are the values of a render: .Values, .Release, .Chart,
// .Capabilities and the rest.
type RenderValues struct{ v chartutil.Values }

// ToRenderValues computes the values templates see. Values schemas are
// not checked here (kubeharden checks them itself, refusing references);
// nil caps are Helm's defaults.
func ToRenderValues(c *Chart, vals map[string]any, rel Release, caps *Capabilities) (*RenderValues, error) {
	var hc *chartutil.Capabilities
	if caps != nil {
		hc = caps.c
	}
	v, err := chartutil.ToRenderValuesWithSchemaValidation(c.c, vals, chartutil.ReleaseOptions{
		Name: rel.Name, Namespace: rel.Namespace, IsInstall: rel.IsInstall, Revision: rel.Revision,
	}, hc, true)
	if err != nil {
		return nil, err
	}
	return &RenderValues{v}, nil
}

// Values returns .Values: the chart's defaults coalesced with the
// release's values and the subcharts' under their names; nil if absent.
func (v *RenderValues) Values() map[string]any {
	vals, _ := v.v["Values"].(chartutil.Values)
	if vals == nil {
		return nil
	}
	return vals
}

// ClientProvider is what the lookup template function asks for a
// resource client: the engine calls it while a template runs.
type ClientProvider interface {
	GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error)
}

// Render runs Helm's template engine over the chart and its subcharts and
// returns the output of each template by its engine name
// ("web/templates/x.yaml"). With a nil provider, lookup finds nothing, as
// with no cluster.
func Render(c *Chart, vals *RenderValues, p ClientProvider) (map[string]string, error) {
	if p == nil {
		return engine.Engine{}.Render(c.c, vals.v)
	}
	return engine.RenderWithClientProvider(c.c, vals.v, p)
}
